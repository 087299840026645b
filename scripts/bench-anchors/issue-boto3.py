"""The anchor of one issue in scripts/bench: the same three IAM calls as `awscreds read
aws/creds/ROLE` (CreateUser, PutUserPolicy, CreateAccessKey), made by a boto3 script.

Usage: python issue-boto3.py ENDPOINT USER_NAME POLICY_DOCUMENT
(keys and region from the environment)"""

import sys

import boto3

endpoint, user, policy = sys.argv[1:4]
iam = boto3.client("iam", endpoint_url=endpoint)
iam.create_user(UserName=user, Path="/")
iam.put_user_policy(UserName=user, PolicyName="bench", PolicyDocument=policy)
key = iam.create_access_key(UserName=user)["AccessKey"]
print(key["AccessKeyId"])
