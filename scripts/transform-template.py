#!/usr/bin/env python3
"""Transforms template.yaml as CloudFormation's AWS::Serverless transform
would, offline, and writes the result as JSON.

Runs the pinned aws-sam-translator (scripts/sam-requirements.txt) through its
Python API with a made-up region and account: no AWS call, no credentials.
`sam package` would replace the functions' local CodeUri by an S3 location
before CloudFormation transforms; a placeholder S3 location stands in for it.

Usage: transform-template.py [--parameter Key=Value ...] [TEMPLATE [OUTPUT]]
(defaults: template.yaml, target/template.transformed.json). Parameters are
the values CloudFormation would hand the transform at deploy time.
"""

import argparse
import json
import os
import pathlib
import re
import sys

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
PLACEHOLDER_CODE = "s3://sam-artifacts-placeholder/code.zip"

ROOT = pathlib.Path(__file__).resolve().parent.parent


def pinned_translator_version() -> str:
    text = (ROOT / "scripts" / "sam-requirements.txt").read_text()
    match = re.search(r"^aws-sam-translator==(\S+)$", text, re.MULTILINE)
    if not match:
        sys.exit("transform-template: scripts/sam-requirements.txt pins no aws-sam-translator")
    return match.group(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", nargs="?", default=str(ROOT / "template.yaml"))
    parser.add_argument("output", nargs="?", default=str(ROOT / "target" / "template.transformed.json"))
    parser.add_argument("--parameter", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()

    try:
        import boto3
        import samtranslator
        from samtranslator.parser.parser import Parser
        from samtranslator.translator.translator import Translator
        from samtranslator.utils.py27hash_fix import (
            to_py27_compatible_template,
            undo_mark_unicode_str_in_template,
        )
        from samtranslator.yaml_helper import yaml_parse
    except ImportError as error:
        sys.exit(
            f"transform-template: aws-sam-translator is not installed for {sys.executable} ({error}); "
            "install scripts/sam-requirements.txt (scripts/sam-venv.sh does)"
        )
    pinned = pinned_translator_version()
    if samtranslator.__version__ != pinned:
        sys.exit(
            f"transform-template: aws-sam-translator {samtranslator.__version__} is installed, "
            f"scripts/sam-requirements.txt pins {pinned}"
        )

    template = yaml_parse(pathlib.Path(args.template).read_text())
    template.setdefault("Globals", {}).setdefault("Function", {})["CodeUri"] = PLACEHOLDER_CODE
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.get("Properties", {}).pop("CodeUri", None)

    parameters = {"AWS::AccountId": ACCOUNT_ID}
    for pair in args.parameter:
        key, sep, value = pair.partition("=")
        if not sep:
            sys.exit(f"transform-template: --parameter {pair!r} is not KEY=VALUE")
        parameters[key] = value

    to_py27_compatible_template(template, parameters)
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=REGION))
    # Every policy is an inline statement: no managed policy name to look up.
    transformed = translator.translate(template, parameter_values=parameters, get_managed_policy_map=lambda: {})
    transformed = undo_mark_unicode_str_in_template(transformed)

    # Written whole or not at all: other tests may read it meanwhile.
    output = pathlib.Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.{os.getpid()}")
    partial.write_text(json.dumps(transformed, indent=2, sort_keys=True) + "\n")
    partial.replace(output)


if __name__ == "__main__":
    main()
