#!/usr/bin/env python3
"""The environment template.yaml gives one function, as KEY=VALUE lines
(values quoted for the shell).

    scripts/template_env.py FUNCTION [Parameter=value ...]

FUNCTION is the function's binary (its Metadata BuildProperties Binary).
The variables are the template's Globals merged with the function's own;
`!Ref` to a template parameter takes the value given on the command line,
else the parameter's Default; `!Ref` to a resource (the table) must be given
by its logical id (`Table=accounts-smoke`); `!Sub` of a string takes its `${Parameter}`s likewise; `!If` is decided by the
template's Conditions on those same values; a variable whose value is
`AWS::NoValue` is left out, and so is one whose value is empty (the code
reads an empty variable as unset, as CloudFormation cannot leave one out).

The smoke run starts each function binary with exactly this, so a function
that needs a setting the template does not give it fails there, not first
on AWS (e.g. a function that signs tokens without the private keys'
secret name).
"""

import re
import shlex
import sys

import yaml


class TemplateLoader(yaml.SafeLoader):
    pass


def _tagged(loader, suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {"Fn::" + suffix if suffix not in ("Ref", "Condition") else suffix: value}


TemplateLoader.add_multi_constructor("!", _tagged)

NO_VALUE = object()


class Resolver:
    def __init__(self, template, given):
        self.template = template
        self.values = {
            name: str(spec.get("Default", ""))
            for name, spec in template.get("Parameters", {}).items()
        }
        self.values.update(given)

    def ref(self, name):
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in self.values:
            sys.exit(f"template_env.py: no value for !Ref {name} (give {name}=...)")
        return self.values[name]

    def condition(self, name):
        return bool(self.resolve(self.template["Conditions"][name]))

    def resolve(self, value):
        if not isinstance(value, dict) or len(value) != 1:
            return value if not isinstance(value, (int, float, bool)) else str(value)
        (op, arg), = value.items()
        if op == "Ref":
            return self.ref(arg)
        if op == "Condition":
            return self.condition(arg)
        if op == "Fn::If":
            name, then, otherwise = arg
            return self.resolve(then if self.condition(name) else otherwise)
        if op == "Fn::Equals":
            return self.resolve(arg[0]) == self.resolve(arg[1])
        if op == "Fn::Not":
            return not self.resolve(arg[0])
        if op == "Fn::Sub" and isinstance(arg, str):
            return re.sub(r"\$\{([^}]+)\}", lambda m: self.ref(m.group(1)), arg)
        if op == "Fn::And":
            return all(self.resolve(a) for a in arg)
        if op == "Fn::Or":
            return any(self.resolve(a) for a in arg)
        sys.exit(f"template_env.py: cannot resolve {op} in an environment variable")


def function_resource(template, binary):
    for name, resource in template["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        built = resource.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
        if built == binary:
            return resource
    sys.exit(f"template_env.py: no function resource builds {binary}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary, given = sys.argv[1], dict(arg.split("=", 1) for arg in sys.argv[2:])
    with open("template.yaml") as f:
        template = yaml.load(f, Loader=TemplateLoader)
    resolver = Resolver(template, given)
    variables = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    own = function_resource(template, binary)["Properties"].get("Environment", {})
    variables.update(own.get("Variables", {}))
    for key, value in variables.items():
        value = resolver.resolve(value)
        if value is NO_VALUE or value == "":
            continue
        print(f"{key}={shlex.quote(value)}")


if __name__ == "__main__":
    main()
