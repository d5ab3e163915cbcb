#!/usr/bin/env bash
# Writes trickle's secrets as SecureString parameters in SSM Parameter Store:
#
#   <prefix>/admin-token            TRICKLE_ADMIN_TOKEN     bearer token for the admin API
#   <prefix>/openphone-api-key      OPENPHONE_API_KEY       OpenPhone API key
#   <prefix>/openphone-webhook-key  OPENPHONE_WEBHOOK_KEY   OpenPhone webhook signing secret
#   <prefix>/numverify-key          NUMVERIFY_KEY           numverify API access key
#   <prefix>/openphone-webhook-key-previous  OPENPHONE_WEBHOOK_KEY_PREVIOUS  optional: the old
#                                   signing secret, accepted too during a key rotation
#   <prefix>/forward-key            FORWARD_KEY             optional: signs re-deliveries of the
#                                   development forwarder (only with the ForwardUrl parameter)
#
# Usage: infra/put-secrets.sh [PREFIX]
#   PREFIX defaults to $TRICKLE_SECRETS_PREFIX, then /trickle/prod; it must match the stack's
#   SecretsPrefix parameter. Each value comes from the environment variable above, or is asked
#   for without echo. Answering a prompt with an empty line keeps the parameter as it is.
#   AWS_PROFILE / AWS_REGION choose the account and region as usual for the aws CLI; the region
#   must be the stack's.
#
# The values never appear on a command line (where `ps` could show them): each is handed to the
# aws CLI through a private temporary file (file://), removed on exit.
set -euo pipefail

prefix="${1:-${TRICKLE_SECRETS_PREFIX:-/trickle/prod}}"
prefix="${prefix%/}"
if [[ ! "$prefix" =~ ^(/[A-Za-z0-9_.-]+)+$ ]]; then
    echo "put-secrets: '$prefix' is not an SSM path like /trickle/prod" >&2
    exit 2
fi
command -v aws >/dev/null || { echo "put-secrets: the aws CLI is not installed" >&2; exit 2; }

umask 077
tmpdir="$(mktemp -d)"
trap 'rm -rf "$tmpdir"' EXIT

# name, environment variable, description
secrets=(
    "admin-token|TRICKLE_ADMIN_TOKEN|trickle admin API bearer token"
    "openphone-api-key|OPENPHONE_API_KEY|OpenPhone API key"
    "openphone-webhook-key|OPENPHONE_WEBHOOK_KEY|OpenPhone webhook signing secret"
    "numverify-key|NUMVERIFY_KEY|numverify API access key"
    "openphone-webhook-key-previous|OPENPHONE_WEBHOOK_KEY_PREVIOUS|previous OpenPhone webhook secret (optional)"
    "forward-key|FORWARD_KEY|development forwarder signing key, base64 (optional)"
)

written=0
for entry in "${secrets[@]}"; do
    IFS='|' read -r name var description <<<"$entry"
    value="${!var:-}"
    if [[ -z "$value" ]]; then
        if [[ ! -t 0 ]]; then
            echo "put-secrets: $var is not set and there is no terminal to ask on" >&2
            exit 2
        fi
        read -r -s -p "$description ($prefix/$name, empty keeps the current value): " value
        echo
        if [[ -z "$value" ]]; then
            echo "  kept $prefix/$name"
            continue
        fi
    fi
    printf '%s' "$value" >"$tmpdir/value"
    aws ssm put-parameter \
        --name "$prefix/$name" \
        --type SecureString \
        --description "$description" \
        --value "file://$tmpdir/value" \
        --overwrite \
        --output text --query 'Version' >/dev/null
    rm -f "$tmpdir/value"
    echo "  wrote $prefix/$name"
    written=$((written + 1))
done
echo "put-secrets: $written parameter(s) written under $prefix"
