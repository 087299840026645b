# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_awscreds_global_optspecs
    string join \n db= h/help V/version
end

function __fish_awscreds_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_awscreds_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_awscreds_using_subcommand
    set -l cmd (__fish_awscreds_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c awscreds -n "__fish_awscreds_needs_command" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_needs_command" -s V -l version -d 'Print version'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "mount" -d 'Mount a new instance of the AWS backend'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "mounts" -d 'List the mounts'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "unmount" -d 'Revoke every lease of a mount, then remove it with its configuration and roles'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "read" -d 'Read data at a path; reading MOUNT/creds/ROLE issues new credentials'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "exec" -d 'Run a command with new credentials, and take them back when it ends'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "credential-process" -d 'Print credentials as the AWS CLI and SDKs\' credential_process wants them, reusing a lease'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "write" -d 'Write data to a path'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "delete" -d 'Delete data at a path, e.g. a role'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "list" -d 'List the keys at a path, e.g. the roles of a mount'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "sweep" -d 'Revoke every expired lease, e.g. from cron'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "status" -d 'Leases per mount and role, failing revocations, the root keys\' age, the last sweep'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "lease" -d 'List, inspect, renew and revoke leases'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "tidy" -d 'Find IAM users this database created that no lease knows, and with --delete remove them'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "seal" -d 'Show or change how the database\'s secrets are sealed'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "audit" -d 'Enable, list and disable audit devices; hash a value; verify a log'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "db" -d 'Copy, inspect and move the database'
complete -c awscreds -n "__fish_awscreds_needs_command" -f -a "help" -d 'Show help for a command, or Vault-style help for a path (`awscreds help aws/creds`)'
complete -c awscreds -n "__fish_awscreds_using_subcommand mount" -l path -d 'Where to mount it [default: the type, "aws"]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand mount" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand mount" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand mounts" -l format -d 'Output format; Vault\'s -format=json is accepted too' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand mounts" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand mounts" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand unmount" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand unmount" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l format -d 'Output format; Vault\'s -format=json is accepted too. env, export, credential_process and ini print credentials as programs take them (creds/ and sts/ paths only)' -r -f -a "table\t''
json\t''
env\t'KEY=VALUE lines: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (STS), AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION, AWSCREDS_LEASE_ID'
export\t'The same as `export KEY=\'VALUE\'`, for eval in sh, bash and zsh'
credential_process\t'The AWS credential_process JSON (Version 1)'
ini\t'A profile section for ~/.aws/credentials (--profile-name)'"
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l profile-name -d 'The profile name of --format ini [default: the role\'s name]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l field -d 'Print only this field\'s value (no trailing newline when not on a terminal), for scripts; Vault\'s -field=NAME is accepted too' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l wait-timeout -d 'The longest wait; then the key is handed out with a warning (it may work a little later)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l wait -d 'Wait until a new IAM access key works (GetCallerIdentity with it succeeds) before handing it out [default: off for read and write, on for exec and credential-process]'
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -l no-wait -d 'Hand out a new key at once, even if it does not work yet'
complete -c awscreds -n "__fish_awscreds_using_subcommand read" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -l ttl -d 'TTL of STS credentials (the same as ttl=D)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -l wait-timeout -d 'The longest wait; then the key is handed out with a warning (it may work a little later)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -l wait -d 'Wait until a new IAM access key works (GetCallerIdentity with it succeeds) before handing it out [default: off for read and write, on for exec and credential-process]'
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -l no-wait -d 'Hand out a new key at once, even if it does not work yet'
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -l nested -d 'Allow running inside another awscreds exec (whose credentials might then be the root credentials of this one)'
complete -c awscreds -n "__fish_awscreds_using_subcommand exec" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -l window -d 'Hand out new credentials when less than this is left (botocore refreshes 15 minutes before Expiration)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -l wait-timeout -d 'The longest wait; then the key is handed out with a warning (it may work a little later)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -l revoke -d 'Revoke the kept lease(s) of PATH now (the end of a work session) and print nothing else'
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -l wait -d 'Wait until a new IAM access key works (GetCallerIdentity with it succeeds) before handing it out [default: off for read and write, on for exec and credential-process]'
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -l no-wait -d 'Hand out a new key at once, even if it does not work yet'
complete -c awscreds -n "__fish_awscreds_using_subcommand credential-process" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand write" -l format -d 'Output format; Vault\'s -format=json is accepted too. env, export, credential_process and ini print credentials as programs take them (creds/ and sts/ paths only)' -r -f -a "table\t''
json\t''
env\t'KEY=VALUE lines: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (STS), AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION, AWSCREDS_LEASE_ID'
export\t'The same as `export KEY=\'VALUE\'`, for eval in sh, bash and zsh'
credential_process\t'The AWS credential_process JSON (Version 1)'
ini\t'A profile section for ~/.aws/credentials (--profile-name)'"
complete -c awscreds -n "__fish_awscreds_using_subcommand write" -l profile-name -d 'The profile name of --format ini [default: the role\'s name]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand write" -l field -d 'Print only this field\'s value (no trailing newline when not on a terminal), for scripts; Vault\'s -field=NAME is accepted too' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand write" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand write" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand delete" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand list" -l format -d 'Output format; Vault\'s -format=json is accepted too' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand list" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -l parallel -d 'The most revocations in flight at once (a sweep makes fewer calls a second while IAM throttles)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -l pending-timeout -d 'Clean up a pending lease after this long even if its issuer may still be running; 0s forces it (a user that IAM does not show is then taken as gone)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -l metrics-file -d 'After the sweep, write the figures of awscreds status in Prometheus\' text format to PATH (atomically: a temporary file beside it, then renamed), for node_exporter\'s textfile collector' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -l format -d 'Output format of --dry-run' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -l dry-run -d 'Only list what a sweep would do (the leases due and why, root rotations due): no AWS call, nothing changed'
complete -c awscreds -n "__fish_awscreds_using_subcommand sweep" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand status" -l format -d 'Output format' -r -f -a "table\t''
json\t''
prometheus\t'Prometheus\' text format, as `sweep --metrics-file` writes it'"
complete -c awscreds -n "__fish_awscreds_using_subcommand status" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand status" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and not __fish_seen_subcommand_from list lookup renew revoke" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and not __fish_seen_subcommand_from list lookup renew revoke" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and not __fish_seen_subcommand_from list lookup renew revoke" -f -a "list" -d 'List leases (id, role, IAM user, issued, expires, state, last error)'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and not __fish_seen_subcommand_from list lookup renew revoke" -f -a "lookup" -d 'Show one lease in full'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and not __fish_seen_subcommand_from list lookup renew revoke" -f -a "renew" -d 'Extend a lease; never past issue time + lease_max'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and not __fish_seen_subcommand_from list lookup renew revoke" -f -a "revoke" -d 'Revoke a lease now, or every lease with a prefix'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from list" -l format -d 'Output format; Vault\'s -format=json is accepted too' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from list" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l format -d 'Output format; Vault\'s -format=json is accepted too. env, export, credential_process and ini print credentials as programs take them (creds/ and sts/ paths only)' -r -f -a "table\t''
json\t''
env\t'KEY=VALUE lines: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (STS), AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION, AWSCREDS_LEASE_ID'
export\t'The same as `export KEY=\'VALUE\'`, for eval in sh, bash and zsh'
credential_process\t'The AWS credential_process JSON (Version 1)'
ini\t'A profile section for ~/.aws/credentials (--profile-name)'"
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l profile-name -d 'The profile name of --format ini [default: the role\'s name]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l field -d 'Print only this field\'s value (no trailing newline when not on a terminal), for scripts; Vault\'s -field=NAME is accepted too' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from lookup" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from lookup" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from renew" -l increment -d 'The new time to live, from now [default: the mount\'s lease]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from renew" -l format -d 'Output format; Vault\'s -format=json is accepted too. env, export, credential_process and ini print credentials as programs take them (creds/ and sts/ paths only)' -r -f -a "table\t''
json\t''
env\t'KEY=VALUE lines: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (STS), AWS_CREDENTIAL_EXPIRATION, AWS_REGION, AWS_DEFAULT_REGION, AWSCREDS_LEASE_ID'
export\t'The same as `export KEY=\'VALUE\'`, for eval in sh, bash and zsh'
credential_process\t'The AWS credential_process JSON (Version 1)'
ini\t'A profile section for ~/.aws/credentials (--profile-name)'"
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from renew" -l profile-name -d 'The profile name of --format ini [default: the role\'s name]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from renew" -l field -d 'Print only this field\'s value (no trailing newline when not on a terminal), for scripts; Vault\'s -field=NAME is accepted too' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from renew" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from renew" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l prefix -d 'Revoke every lease under this path, e.g. aws/creds/deploy (every lease of that role)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l parallel -d 'The most revocations in flight at once (a sweep makes fewer calls a second while IAM throttles)' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from revoke" -l force -d 'Remove the lease records without deleting anything at AWS'
complete -c awscreds -n "__fish_awscreds_using_subcommand lease; and __fish_seen_subcommand_from revoke" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand tidy" -l format -d 'Output format; Vault\'s -format=json is accepted too' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand tidy" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand tidy" -l delete -d 'Delete the users found (their keys, policies and everything attached)'
complete -c awscreds -n "__fish_awscreds_using_subcommand tidy" -l expired -d 'Find the users past their awscreds:expires-at deadline instead'
complete -c awscreds -n "__fish_awscreds_using_subcommand tidy" -l all-databases -d 'With --expired: the users of any database, not only this one\'s'
complete -c awscreds -n "__fish_awscreds_using_subcommand tidy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and not __fish_seen_subcommand_from status rotate kms file" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and not __fish_seen_subcommand_from status rotate kms file" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and not __fish_seen_subcommand_from status rotate kms file" -f -a "status" -d 'How the data key is wrapped, by which key, and how many secrets are sealed (no secret)'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and not __fish_seen_subcommand_from status rotate kms file" -f -a "rotate" -d 'Make a new data key and re-encrypt every secret under it, in one transaction'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and not __fish_seen_subcommand_from status rotate kms file" -f -a "kms" -d 'Wrap the data key with AWS KMS (envelope encryption), reached with this machine\'s standard AWS configuration (AWS_ENDPOINT_URL_KMS, AWS_REGION, the credential chain)'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and not __fish_seen_subcommand_from status rotate kms file" -f -a "file" -d 'Wrap the data key with a key file (made, 0600, if it does not exist)'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from status" -l format -d 'Output format; Vault\'s -format=json is accepted too' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from status" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from rotate" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from kms" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from kms" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from file" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand seal; and __fish_seen_subcommand_from file" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -f -a "enable" -d 'Enable an audit device, e.g. `awscreds audit enable file file_path=/var/log/awscreds.log`'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -f -a "list" -d 'List the enabled audit devices'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -f -a "disable" -d 'Disable an audit device (its file stays)'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -f -a "hash" -d 'Print the HMAC of a value as the audit logs show it, to grep for a known value'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and not __fish_seen_subcommand_from enable list disable hash verify" -f -a "verify" -d 'Check an audit log: prints "ok N entries", or names the first entry changed, removed or inserted and exits 1'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from enable" -l path -d 'Where to enable it [default: the type, "file"]' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from enable" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from enable" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from list" -l format -d 'Output format; Vault\'s -format=json is accepted too' -r -f -a "table\t''
json\t''"
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from list" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from disable" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from disable" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from hash" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from hash" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from verify" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand audit; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand db; and not __fish_seen_subcommand_from copy" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand db; and not __fish_seen_subcommand_from copy" -s h -l help -d 'Print help'
complete -c awscreds -n "__fish_awscreds_using_subcommand db; and not __fish_seen_subcommand_from copy" -f -a "copy" -d 'Copy this database into another, empty one (either backend to either)'
complete -c awscreds -n "__fish_awscreds_using_subcommand db; and __fish_seen_subcommand_from copy" -l to -d 'The target database: a SQLite path, or a postgres:// URL' -r
complete -c awscreds -n "__fish_awscreds_using_subcommand db; and __fish_seen_subcommand_from copy" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand db; and __fish_seen_subcommand_from copy" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c awscreds -n "__fish_awscreds_using_subcommand help" -l db -d 'The database holding mounts, roles and leases: a SQLite file, or a team\'s PostgreSQL database as a postgres:// URL (password from the URL or PGPASSWORD) [default: awscreds/awscreds.db under the user\'s data directory]' -r -F
complete -c awscreds -n "__fish_awscreds_using_subcommand help" -s h -l help -d 'Print help'
