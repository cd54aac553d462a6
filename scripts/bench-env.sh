# shellcheck shell=bash
# The functions' environment in the benchmarks (sourced after start_moto of
# scripts/moto.sh): DynamoDB and Secrets Manager on moto, throwaway
# credentials, the deployment's token settings, an MFA key.
set -a
TABLE_NAME=accounts-bench
AWS_ENDPOINT_URL_DYNAMODB=$MOTO_ENDPOINT
AWS_ENDPOINT_URL_SECRETS_MANAGER=$MOTO_ENDPOINT
AWS_REGION=us-east-1
AWS_ACCESS_KEY_ID=bench
AWS_SECRET_ACCESS_KEY=bench
JWT_ALGORITHM=RS256
JWT_AUDIENCE=flashback
RUST_LOG=info
# The MFA functions' data key (a fixed throwaway one: base64 of 32 bytes).
MFA_KEY=YmVuY2gtbWZhLWtleS0zMi1ieXRlcy1sb25nLXh4eHg=
set +a
