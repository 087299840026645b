#!/usr/bin/env bash
# The anchor of one issue in scripts/bench: the same three IAM calls as `awscreds read
# aws/creds/ROLE` (CreateUser, PutUserPolicy, CreateAccessKey), made by a shell script of three
# AWS CLI commands, as an operator without awscreds would write it.
# Usage: issue-awscli.sh AWS ENDPOINT USER_NAME POLICY_DOCUMENT (keys and region from the environment)
set -euo pipefail
aws=$1 endpoint=$2 user=$3 policy=$4
"$aws" --endpoint-url "$endpoint" iam create-user --user-name "$user" --path / >/dev/null
"$aws" --endpoint-url "$endpoint" iam put-user-policy --user-name "$user" --policy-name bench \
    --policy-document "$policy"
"$aws" --endpoint-url "$endpoint" iam create-access-key --user-name "$user" \
    --query AccessKey.AccessKeyId --output text
