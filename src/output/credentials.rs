//! Credentials as programs take them: `env` lines, `export` lines for sh/bash/zsh, the AWS
//! `credential_process` JSON, and a profile for `~/.aws/credentials`. Each holds the secret: they
//! are printed only when they are the requested output.

use std::io::Write;

use super::{Result, timestamp};
use crate::engine::Issued;

/// The variables a program gets: the key pair, the session token of STS credentials, when they
/// expire, the region, and the lease that takes them back.
pub fn variables(issued: &Issued) -> Vec<(&'static str, String)> {
    let c = &issued.credential;
    let mut vars = vec![
        ("AWS_ACCESS_KEY_ID", c.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", c.secret_access_key.clone()),
    ];
    if let Some(token) = &c.session_token {
        vars.push(("AWS_SESSION_TOKEN", token.clone()));
    }
    vars.extend([
        ("AWS_CREDENTIAL_EXPIRATION", timestamp(c.expires_at)),
        ("AWS_REGION", issued.region.clone()),
        ("AWS_DEFAULT_REGION", issued.region.clone()),
        ("AWSCREDS_LEASE_ID", issued.lease.id.clone()),
    ]);
    vars
}

/// `KEY=VALUE` lines (docker's --env-file, systemd's EnvironmentFile).
pub fn env(out: &mut dyn Write, issued: &Issued) -> Result {
    for (key, value) in variables(issued) {
        writeln!(out, "{key}={value}")?;
    }
    Ok(())
}

/// `export KEY='VALUE'` lines, for `eval "$(awscreds read --format export creds/deploy)"`.
pub fn export(out: &mut dyn Write, issued: &Issued) -> Result {
    for (key, value) in variables(issued) {
        writeln!(out, "export {key}={}", sh_quote(&value))?;
    }
    Ok(())
}

/// The JSON that `credential_process` in `~/.aws/config` must print: version 1, the keys, the
/// session token of STS credentials, and when they expire (the lease's end).
pub fn credential_process(out: &mut dyn Write, issued: &Issued) -> Result {
    let c = &issued.credential;
    let mut json = serde_json::Map::new();
    json.insert("Version".into(), 1.into());
    json.insert("AccessKeyId".into(), c.access_key_id.clone().into());
    json.insert("SecretAccessKey".into(), c.secret_access_key.clone().into());
    if let Some(token) = &c.session_token {
        json.insert("SessionToken".into(), token.clone().into());
    }
    json.insert("Expiration".into(), timestamp(c.expires_at).into());
    writeln!(out, "{}", serde_json::Value::Object(json))?;
    Ok(())
}

/// A profile section for `~/.aws/credentials`.
pub fn ini(out: &mut dyn Write, issued: &Issued, profile: &str) -> Result {
    let c = &issued.credential;
    writeln!(out, "[{profile}]")?;
    writeln!(
        out,
        "# awscreds lease {} expires {}",
        issued.lease.id,
        timestamp(c.expires_at)
    )?;
    writeln!(out, "aws_access_key_id = {}", c.access_key_id)?;
    writeln!(out, "aws_secret_access_key = {}", c.secret_access_key)?;
    if let Some(token) = &c.session_token {
        writeln!(out, "aws_session_token = {token}")?;
    }
    Ok(())
}

/// `text` as one sh word: single-quoted, with `'` written `'\''`.
pub fn sh_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::LeaseInfo;
    use crate::model::{Credential, CredentialType};

    fn issued(token: Option<&str>) -> Issued {
        Issued {
            lease: LeaseInfo {
                id: "aws/creds/deploy/1".into(),
                duration: 3600,
                renewable: token.is_none(),
            },
            kind: CredentialType::IamUser,
            credential: Credential {
                access_key_id: "AKIA1".into(),
                secret_access_key: "s3/cr+t".into(),
                session_token: token.map(str::to_string),
                expires_at: 0,
                arn: None,
            },
            region: "eu-west-1".into(),
            warnings: Vec::new(),
        }
    }

    fn text(f: impl Fn(&mut dyn Write) -> Result) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn each_format_holds_what_its_consumer_reads() {
        let iam = issued(None);
        assert_eq!(
            text(|o| env(o, &iam)),
            "AWS_ACCESS_KEY_ID=AKIA1\nAWS_SECRET_ACCESS_KEY=s3/cr+t\n\
             AWS_CREDENTIAL_EXPIRATION=1970-01-01T00:00:00Z\nAWS_REGION=eu-west-1\n\
             AWS_DEFAULT_REGION=eu-west-1\nAWSCREDS_LEASE_ID=aws/creds/deploy/1\n"
        );
        assert!(text(|o| export(o, &iam)).starts_with("export AWS_ACCESS_KEY_ID='AKIA1'\n"));
        assert_eq!(
            text(|o| credential_process(o, &issued(Some("tok")))),
            "{\"AccessKeyId\":\"AKIA1\",\"Expiration\":\"1970-01-01T00:00:00Z\",\
             \"SecretAccessKey\":\"s3/cr+t\",\"SessionToken\":\"tok\",\"Version\":1}\n"
        );
        let profile = text(|o| ini(o, &iam, "deploy"));
        assert!(profile.starts_with("[deploy]\n# awscreds lease aws/creds/deploy/1"));
        assert!(profile.ends_with("aws_access_key_id = AKIA1\naws_secret_access_key = s3/cr+t\n"));
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }
}
