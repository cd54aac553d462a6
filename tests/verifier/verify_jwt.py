"""A verifier that is not this service: checks an access token with nothing
but the published JWK set, as another service of the platform would.

Usage: verify_jwt.py JWKS_FILE TOKEN_FILE ISSUER AUDIENCE
Prints the verified claims as JSON and exits 0; exits 1 if the token does
not verify. Uses joserfc (installed with moto, scripts/moto-requirements.txt).
"""

import json
import sys

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet


def main() -> int:
    jwks_file, token_file, issuer, audience = sys.argv[1:5]
    with open(jwks_file) as f:
        published = json.load(f)
    # Only the RFC 7517 members: the service's envelope adds "success".
    key_set = KeySet.import_key_set({"keys": published["keys"]})
    with open(token_file) as f:
        token = f.read().strip()
    try:
        # Pinned algorithms: what the keys are for, nothing else.
        verified = jwt.decode(token, key_set, algorithms=["RS256", "ES256"])
        registry = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": audience},
            exp={"essential": True},
            type={"essential": True, "value": "access"},
        )
        registry.validate(verified.claims)
    except (JoseError, ValueError) as error:
        print(f"refused: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps({"kid": verified.header.get("kid"), "claims": verified.claims}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
