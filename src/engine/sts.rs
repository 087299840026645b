//! Temporary credentials from one STS call: AssumeRole, GetFederationToken or GetSessionToken.
//! The lease is recorded afterwards: there is nothing at AWS to clean up if this process dies, and
//! nothing to revoke later (STS credentials cannot be recalled; they expire by themselves).

use serde_json::Value;

use super::issue::{Request, name_template};
use super::routes::Target;
use super::template::{self, STS_LIMIT};
use super::{Engine, Error, Issued, LeaseInfo, Result, Warning};
use crate::cloud::{Cloud, Connector, StsRequest};
use crate::model::{Credential, CredentialType, Lease, LeaseState, Role};
use crate::params::duration;

/// STS's shortest credential lifetime.
const STS_MIN_TTL: u64 = 900;

impl<C: Connector> Engine<C> {
    /// Temporary credentials from one STS call. The lease is recorded afterwards: there is
    /// nothing at AWS to clean up if this process dies, and nothing to revoke later.
    pub(super) async fn issue_sts(
        &self,
        target: &Target,
        role: &Role,
        request: &Request,
    ) -> Result<Issued> {
        let mount = target.mount.as_str();
        let kind = role.credential_type;
        let config = self.root_config(mount).await?;
        let lease_config = self.lease_config(mount).await?;
        let mut warnings = Vec::new();

        let wanted = request.ttl.unwrap_or(if role.default_sts_ttl > 0 {
            role.default_sts_ttl
        } else {
            3600
        });
        let max = if role.max_sts_ttl > 0 {
            role.max_sts_ttl
        } else {
            lease_config.lease_max
        };
        let ttl = if wanted > max {
            warnings.push(Warning::TtlCapped { wanted, max });
            max
        } else {
            wanted
        };
        if ttl < STS_MIN_TTL {
            return Err(Error::input_hint(
                format!("ttl {} is shorter than STS allows", duration::format(ttl)),
                "STS credentials last at least 15m",
            ));
        }
        let role_arn = match (&request.role_arn, role.role_arns.as_slice()) {
            (Some(arn), allowed) if kind == CredentialType::AssumedRole => {
                if !allowed.contains(arn) {
                    return Err(Error::input_hint(
                        format!(
                            "role_arn \"{arn}\" not in allowed role arns for role \"{}\"",
                            role.name
                        ),
                        format!("one of: {}", allowed.join(", ")),
                    ));
                }
                arn.clone()
            }
            (None, [only]) => only.clone(),
            (None, many) if kind == CredentialType::AssumedRole => {
                return Err(Error::input_hint(
                    "did not supply a role_arn parameter and unable to determine one",
                    format!("role_arn=one of {}", many.join(", ")),
                ));
            }
            _ => String::new(),
        };
        let name = match &request.role_session_name {
            Some(name) => {
                let ok = (2..=64).contains(&name.len())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
                if !ok {
                    return Err(Error::input_hint(
                        format!("invalid role_session_name \"{name}\""),
                        "2 to 64 letters, digits and _+=,.@-",
                    ));
                }
                name.clone()
            }
            None => name_template(&config.sts_name_template, template::DEFAULT_STS, STS_LIMIT)?
                .render(&template::Context {
                    role: &role.name,
                    mount,
                    kind,
                    now: self.now(),
                }),
        };
        let tags: Vec<(String, String)> = role
            .session_tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // A cap reached already refuses before the STS call; the lease is recorded (atomically
        // against the cap) only once STS answered, since there is nothing to clean up before.
        self.check_caps(&target.path(), mount, role, lease_config.max_leases)
            .await?;
        let cloud = self.cloud(mount).await?;
        // As Vault does: the policies of the role's groups are merged into the request.
        let mut documents: Vec<String> = Some(role.policy_document.clone())
            .filter(|p| !p.is_empty())
            .into_iter()
            .collect();
        let mut policy_arns = role.policy_arns.clone();
        for group in &role.iam_groups {
            let (docs, arns) = cloud.group_policies(group).await.map_err(|e| {
                Error::cloud(format!("reading the policies of IAM group {group}"), e)
            })?;
            documents.extend(docs);
            policy_arns.extend(arns.into_iter().filter(|a| !role.policy_arns.contains(a)));
        }
        let policy = combine_policies(&documents)?;
        let sts_request = StsRequest {
            kind,
            role_arn: &role_arn,
            name: &name,
            duration_seconds: i32::try_from(ttl).unwrap_or(i32::MAX),
            policy: policy.as_deref(),
            policy_arns: &policy_arns,
            tags: &tags,
            external_id: Some(role.external_id.as_str()).filter(|e| !e.is_empty()),
            mfa: request
                .mfa_code
                .as_deref()
                .map(|code| (role.mfa_serial_number.as_str(), code)),
        };
        let credentials = cloud
            .sts(&sts_request)
            .await
            .map_err(|e| Error::cloud(format!("requesting {} credentials", kind.as_str()), e))?;

        let now = self.now();
        let lease = Lease {
            id: format!("{}/{}", target.path(), uuid::Uuid::new_v4()),
            mount: mount.to_string(),
            role: role.name.clone(),
            iam_user: name,
            access_key_id: Some(credentials.access_key_id.clone()),
            state: LeaseState::Active,
            issued_at: now,
            expires_at: credentials.expiration,
            max_expires_at: credentials.expiration,
            due_at: credentials.expiration,
            attempts: 0,
            last_error: None,
            owner: None,
            attached: None,
            key_wait_ms: None,
            cached_secret: None,
            kind,
        };
        // An issuer that lost the race for the last place under the cap drops the credential
        // unseen: it cannot be recalled, and expires by itself.
        self.record_capped(&target.path(), &lease, role, lease_config.max_leases)
            .await?;
        Ok(Issued {
            lease: LeaseInfo {
                id: lease.id,
                duration: (credentials.expiration - now).max(0) as u64,
                renewable: false,
            },
            kind,
            region: crate::cloud::region(&config),
            credential: Credential {
                access_key_id: credentials.access_key_id,
                secret_access_key: credentials.secret_access_key,
                session_token: Some(credentials.session_token),
                expires_at: credentials.expiration,
                arn: credentials.arn,
            },
            warnings,
        })
    }
}

/// One policy document of all the statements of `documents`, or `None` if there are none.
fn combine_policies(documents: &[String]) -> Result<Option<String>> {
    if documents.len() <= 1 {
        return Ok(documents.first().cloned());
    }
    let mut statements = Vec::new();
    for document in documents {
        let value: Value = serde_json::from_str(document)
            .map_err(|e| Error::input(format!("cannot parse a group's policy document: {e}")))?;
        match value.get("Statement") {
            Some(Value::Array(items)) => statements.extend(items.iter().cloned()),
            Some(one) => statements.push(one.clone()),
            None => {}
        }
    }
    let combined = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    Ok(Some(combined.to_string()))
}
