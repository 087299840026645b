//! The lease lifecycle: issuing an IAM-user credential, renewing it, and taking it back.
//!
//! Invariant: a lease row exists from before the first IAM call until the IAM user is confirmed
//! gone. Issuing takes an owner lock (see `owner.rs`), records a `pending` lease naming it, then
//! calls CreateUser -> PutUserPolicy -> CreateAccessKey, then activates the lease. If a step
//! fails the command deletes what it created; if the process dies, a sweep finds the pending row
//! and, since the lock died with the process, cleans it up at once.

use serde_json::{Map, Value};

use super::config::named_duration;
use super::role::DEFAULT_USER_PATH;
use super::routes::{Route, Target, string_param};
use super::template::{self, IAM_LIMIT, STS_LIMIT, Template};
use super::{Engine, LeaseInfo, Secret};
use crate::cloud::{AccessKey, Attachment, Cloud, CloudError, Connector, NewUser, StsRequest};
use crate::duration;
use crate::error::{Error, Result};
use crate::model::{CredentialType, Lease, LeaseState, Role};
use crate::store::Store;

/// How long a pending lease is left to its issuer before a sweep cleans it up, whatever it
/// knows about the issuer. Also IAM's eventual consistency window: until then a user that IAM
/// says does not exist may still appear, so "does not exist" is not trusted for a pending lease
/// younger than this (Vault waits the same five minutes before trusting NoSuchEntity).
pub const PENDING_TIMEOUT: i64 = 300;
/// STS's shortest credential lifetime.
const STS_MIN_TTL: u64 = 900;
pub const TAG_LEASE: &str = "awscreds:lease-id";
pub const TAG_DB: &str = "awscreds:db";

/// What deleting an IAM user found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Deleted {
    /// We deleted it.
    Now,
    /// IAM says it does not exist.
    AlreadyGone,
}

/// How a revocation ended, short of an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revoked {
    /// The IAM user is gone and the lease with it.
    Done,
    /// A pending lease whose user IAM does not show yet: kept, and looked at again later.
    Waiting,
}

/// The parameters of a credentials request (`read creds/NAME ttl=15m ...`).
#[derive(Debug, Default)]
struct Request {
    ttl: Option<u64>,
    role_arn: Option<String>,
    role_session_name: Option<String>,
    mfa_code: Option<String>,
}

impl Request {
    fn parse(data: &Map<String, Value>) -> Result<Request> {
        Ok(Request {
            ttl: string_param(data, "ttl")?
                .map(|t| named_duration("ttl", &t))
                .transpose()?,
            role_arn: string_param(data, "role_arn")?,
            role_session_name: string_param(data, "role_session_name")?,
            mfa_code: string_param(data, "mfa_code")?,
        })
    }
}

impl<S: Store, C: Connector> Engine<S, C> {
    /// `read MOUNT/creds/NAME` (or `sts/NAME`): new credentials of the role's type.
    pub(super) async fn issue(
        &self,
        target: &Target,
        role_name: &str,
        data: &Map<String, Value>,
    ) -> Result<Secret> {
        let mount = target.mount.as_str();
        let role = self.store.role(mount, role_name)?.ok_or_else(|| {
            Error::input_hint(
                format!("Role \"{role_name}\" not found"),
                format!(
                    "create it first: awscreds write {mount}/roles/{role_name} policy=@policy.json"
                ),
            )
        })?;
        let request = Request::parse(data)?;
        let kind = role.credential_type;
        if matches!(target.route, Route::Sts(_)) && !kind.is_sts() {
            return Err(Error::input_hint(
                format!(
                    "role \"{role_name}\" is an iam_user role; sts/ is for STS credential types"
                ),
                format!("awscreds read {mount}/creds/{role_name}"),
            ));
        }
        let refuse = |param: &str, given: bool, allowed: &[CredentialType]| -> Result<()> {
            if given && !allowed.contains(&kind) {
                return Err(Error::input_hint(
                    format!("{param} does not apply to {} credentials", kind.as_str()),
                    match kind {
                        CredentialType::IamUser => {
                            "IAM-user leases last the mount's lease (config/lease)".to_string()
                        }
                        _ => format!("leave {param} out"),
                    },
                ));
            }
            Ok(())
        };
        use CredentialType::*;
        refuse(
            "ttl",
            request.ttl.is_some(),
            &[AssumedRole, FederationToken, SessionToken],
        )?;
        refuse("role_arn", request.role_arn.is_some(), &[AssumedRole])?;
        refuse(
            "role_session_name",
            request.role_session_name.is_some(),
            &[AssumedRole],
        )?;
        match (role.mfa_serial_number.is_empty(), &request.mfa_code) {
            (true, Some(_)) => {
                return Err(Error::input_hint(
                    format!(
                        "role \"{role_name}\" has no mfa_serial_number, so mfa_code does not apply"
                    ),
                    "leave mfa_code out",
                ));
            }
            (false, None) => {
                return Err(Error::input_hint(
                    format!("mfa_code is required: role \"{role_name}\" has an MFA device"),
                    format!("awscreds read {} mfa_code=123456", target.path()),
                ));
            }
            _ => {}
        }
        if kind.is_sts() {
            self.issue_sts(target, &role, &request).await
        } else {
            self.issue_iam_user(target, &role).await
        }
    }

    /// An IAM user with everything the role gives it, and an access key.
    async fn issue_iam_user(&self, target: &Target, role: &Role) -> Result<Secret> {
        let mount = target.mount.as_str();
        let config = self.root_config(mount)?;
        let lease_config = self.lease_config(mount)?;
        let cloud = self.cloud(mount).await?;
        let db_id = self.store.db_id()?;
        let owner = self.owner_token()?;
        let template = name_template(&config.username_template, template::DEFAULT_IAM, IAM_LIMIT)?;

        let now = self.now();
        let name = template.render(&template::Context {
            role: &role.name,
            mount,
            kind: role.credential_type,
            now,
        });
        let mut lease = Lease {
            id: format!("{}/{}", target.path(), uuid::Uuid::new_v4()),
            mount: mount.to_string(),
            role: role.name.clone(),
            iam_user: name,
            access_key_id: None,
            state: LeaseState::Pending,
            issued_at: now,
            expires_at: now + PENDING_TIMEOUT,
            max_expires_at: now + lease_config.lease_max as i64,
            due_at: now + PENDING_TIMEOUT,
            attempts: 0,
            last_error: None,
            owner,
            attached: None,
            kind: CredentialType::IamUser,
        };
        self.store.insert_lease(&lease)?;

        let mut tags: Vec<(String, String)> = role
            .iam_tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        tags.push((TAG_LEASE.to_string(), lease.id.clone()));
        tags.push((TAG_DB.to_string(), db_id));
        let path = if role.user_path.is_empty() {
            DEFAULT_USER_PATH
        } else {
            &role.user_path
        };
        let new_user = NewUser {
            name: &lease.iam_user,
            path,
            tags: &tags,
            permissions_boundary: Some(role.permissions_boundary_arn.as_str())
                .filter(|b| !b.is_empty()),
        };
        match cloud.create_user(&new_user).await {
            Ok(()) => {}
            // Our own earlier attempt, whose answer was lost and which the SDK retried, made it
            // if it carries this lease's tag; anybody else's user is never adopted.
            Err(e @ CloudError::Api { .. }) if is_code(&e, "EntityAlreadyExists") => {
                let ours = cloud
                    .user_tags(&lease.iam_user)
                    .await
                    .is_ok_and(|tags| tags.iter().any(|(k, v)| k == TAG_LEASE && *v == lease.id));
                if !ours {
                    return Err(self.creation_failed(&lease, e));
                }
            }
            Err(e) => return Err(self.creation_failed(&lease, e)),
        }
        let mut attached = Vec::new();
        let key = match self
            .finish_user(&*cloud, &lease.iam_user, role, &mut attached)
            .await
        {
            Ok(key) => key,
            Err(e) => {
                let action = format!("setting up IAM user {}", lease.iam_user);
                let hint = self
                    .undo(&*cloud, &lease, &format!("{action}: {e}"))
                    .await?;
                return Err(Error::Cloud {
                    action,
                    cause: e,
                    hint: Some(hint),
                });
            }
        };
        // Counted from now, not from the start: the caller gets the whole lease, but never past
        // issue time + lease_max.
        lease.expires_at = (self.now() + lease_config.lease as i64).min(lease.max_expires_at);
        let activated = self.store.activate_lease(
            &lease.id,
            lease.owner.as_deref(),
            &key.access_key_id,
            &attached,
            lease.expires_at,
        );
        if !matches!(activated, Ok(true)) {
            // The credential was never handed out: take it back. The lease row may be gone (a
            // revocation took it meanwhile); it is recorded again first, so that if the undo
            // fails, a sweep still knows the user.
            if self.store.lease(&lease.id).ok().flatten().is_none() {
                let _ = self.store.insert_lease(&lease);
            }
            let hint = self
                .undo(&*cloud, &lease, "recording the lease failed")
                .await
                .ok();
            let error = match activated {
                Err(e) => Error::from(e),
                _ => Error::input(format!(
                    "lease {} was revoked while it was being issued",
                    lease.id
                )),
            };
            return Err(match (error, hint) {
                (Error::Input { message, .. }, Some(hint)) => Error::Input {
                    message,
                    hint: Some(hint),
                },
                (error, _) => error,
            });
        }

        let mut data = Map::new();
        data.insert("access_key".into(), Value::String(key.access_key_id));
        data.insert("secret_key".into(), Value::String(key.secret_access_key));
        Ok(Secret {
            lease: Some(LeaseInfo {
                id: lease.id,
                duration: (lease.expires_at - self.now()).max(0) as u64,
                renewable: true,
            }),
            data,
            warnings: Vec::new(),
        })
    }

    /// After CreateUser: managed policies, the inline policy, groups, then the access key.
    /// `attached` collects what was attached, for the lease record.
    async fn finish_user(
        &self,
        cloud: &C::Cloud,
        user: &str,
        role: &Role,
        attached: &mut Vec<(Attachment, String)>,
    ) -> std::result::Result<AccessKey, CloudError> {
        for arn in &role.policy_arns {
            cloud.attach(user, Attachment::ManagedPolicy, arn).await?;
            attached.push((Attachment::ManagedPolicy, arn.clone()));
        }
        if !role.policy_document.is_empty() {
            cloud
                .put_user_policy(user, &role.name, &role.policy_document)
                .await?;
            attached.push((Attachment::InlinePolicy, role.name.clone()));
        }
        for group in &role.iam_groups {
            cloud.attach(user, Attachment::Group, group).await?;
            attached.push((Attachment::Group, group.clone()));
        }
        let key = cloud.create_access_key(user).await?;
        attached.push((Attachment::AccessKey, key.access_key_id.clone()));
        Ok(key)
    }

    /// Temporary credentials from one STS call. The lease is recorded afterwards: there is
    /// nothing at AWS to clean up if this process dies, and nothing to revoke later.
    async fn issue_sts(&self, target: &Target, role: &Role, request: &Request) -> Result<Secret> {
        let mount = target.mount.as_str();
        let kind = role.credential_type;
        let config = self.root_config(mount)?;
        let lease_config = self.lease_config(mount)?;
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
            warnings.push(format!(
                "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped \
                 accordingly",
                duration::format(wanted),
                duration::format(max)
            ));
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
            kind,
        };
        self.store.insert_lease(&lease)?;
        let ttl_left = (credentials.expiration - now).max(0) as u64;
        let mut data = Map::new();
        data.insert(
            "access_key".into(),
            Value::String(credentials.access_key_id),
        );
        data.insert(
            "secret_key".into(),
            Value::String(credentials.secret_access_key),
        );
        data.insert(
            "session_token".into(),
            Value::String(credentials.session_token),
        );
        data.insert(
            "expiration".into(),
            Value::String(crate::output::timestamp(credentials.expiration)),
        );
        data.insert("ttl".into(), Value::from(ttl_left));
        if let Some(arn) = credentials.arn {
            data.insert("arn".into(), Value::String(arn));
        }
        Ok(Secret {
            lease: Some(LeaseInfo {
                id: lease.id,
                duration: ttl_left,
                renewable: false,
            }),
            data,
            warnings,
        })
    }

    /// CreateUser failed. A definite refusal created nothing, so the lease row goes; an error that
    /// leaves it unknown whether the user exists (a timeout, a dropped connection, a 5xx) keeps
    /// the row pending for a sweep to settle.
    fn creation_failed(&self, lease: &Lease, error: CloudError) -> Error {
        let action = format!("creating IAM user {}", lease.iam_user);
        // Only a refusal of the request itself proves that no attempt created the user: the
        // SDK retries, and an earlier attempt that timed out may have succeeded before a later
        // one was throttled or hit a quota.
        let definite = [
            "EntityAlreadyExists",
            "InvalidInput",
            "ValidationError",
            "MalformedPolicyDocument",
            "AccessDenied",
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "NoSuchEntity",
        ]
        .iter()
        .any(|code| is_code(&error, code))
            // An answer without a code: an HTTP 4xx refused the request itself.
            || matches!(&error, CloudError::Api { code, .. } if code.starts_with("HTTP 4"));
        let stored = if definite {
            self.store.delete_lease(&lease.id)
        } else {
            let why = format!("{action}: {error}");
            self.store.record_failure(&lease.id, &why, lease.due_at)
        };
        if let Err(e) = stored {
            return e.into();
        }
        let hint = (!definite).then(|| {
            "the lease stays pending; awscreds sweep deletes the user if AWS created it".to_string()
        });
        Error::Cloud {
            action,
            cause: error,
            hint,
        }
    }

    /// A step after CreateUser failed: delete what was created and the lease with it. If that
    /// fails too, the pending lease stays, marked with `why`, and a sweep retries once this
    /// process is gone. Returns a hint that tells the user which of the two happened.
    async fn undo(&self, cloud: &C::Cloud, lease: &Lease, why: &str) -> Result<String> {
        match delete_iam_user(cloud, &lease.iam_user, None).await {
            Ok(Deleted::Now) => {
                self.store.delete_lease(&lease.id)?;
                Ok("the IAM user was deleted again; nothing was left behind".into())
            }
            // Just created, so "does not exist" is IAM's eventual consistency: keep the lease.
            Ok(Deleted::AlreadyGone) | Err(_) => {
                let why = format!("{why}; cleanup pending");
                self.store.record_failure(&lease.id, &why, lease.due_at)?;
                Ok(
                    "the IAM user could not be deleted yet; the lease stays pending and \
                    awscreds sweep deletes it"
                        .into(),
                )
            }
        }
    }

    /// Takes a lease back: deletes its IAM user and then the lease row. On failure the lease is
    /// kept, with the error and a later retry time. A pending lease younger than
    /// `pending_timeout` whose user IAM does not show is kept too (`Waiting`).
    pub async fn revoke_lease(&self, lease: &Lease, pending_timeout: i64) -> Result<Revoked> {
        if lease.kind.is_sts() {
            // STS credentials cannot be recalled: they stay valid until they expire. Revoking
            // the lease only forgets it, which needs no AWS client.
            self.store.delete_lease(&lease.id)?;
            return Ok(Revoked::Done);
        }
        if lease.state == LeaseState::Pending {
            // From now on the issuer cannot activate it: it will undo instead of handing out
            // credentials whose user this revocation deletes.
            self.store.take_pending(&lease.id)?;
        }
        let result = match self.cloud(&lease.mount).await {
            Ok(cloud) => delete_iam_user(&*cloud, &lease.iam_user, lease.attached.as_deref())
                .await
                .map_err(|e| Error::cloud(format!("deleting IAM user {}", lease.iam_user), e)),
            Err(e) => Err(e),
        };
        let now = self.now();
        match result {
            Ok(Deleted::AlreadyGone)
                if lease.state == LeaseState::Pending
                    && now < lease.issued_at + pending_timeout =>
            {
                let why = format!(
                    "IAM does not show user {} (yet); retried until {} after issue",
                    lease.iam_user,
                    duration::format(pending_timeout as u64)
                );
                let retry_at = (now + retry_delay(0)).min(lease.issued_at + pending_timeout);
                self.store.record_failure(&lease.id, &why, retry_at)?;
                Ok(Revoked::Waiting)
            }
            Ok(_) => {
                self.store.delete_lease(&lease.id)?;
                Ok(Revoked::Done)
            }
            Err(err) => {
                let retry_at = now + retry_delay(lease.attempts);
                self.store
                    .record_failure(&lease.id, &err.to_string(), retry_at)?;
                Err(err)
            }
        }
    }

    /// `lease renew ID [--increment]`: moves the expiry to now + increment (default: the mount's
    /// lease), never past issue time + lease_max. Returns the new duration and a warning when it
    /// was capped.
    pub fn renew(&self, id: &str, increment: Option<u64>) -> Result<(LeaseInfo, Option<String>)> {
        let lease = self.lease(id)?;
        if lease.kind.is_sts() {
            return Err(Error::input_hint(
                format!("lease {id} is not renewable"),
                "STS credentials cannot be extended; read new ones",
            ));
        }
        if lease.state != LeaseState::Active {
            return Err(Error::input_hint(
                format!("lease {id} is still being issued and cannot be renewed"),
                "renew it once it is active (awscreds lease lookup ID)",
            ));
        }
        let now = self.now();
        if lease.expires_at >= lease.max_expires_at {
            return Err(Error::input_hint(
                format!("lease {id} is already at its maximum and cannot be renewed"),
                format!(
                    "it expires at {} (issue time + lease_max); read new credentials instead",
                    crate::output::timestamp(lease.max_expires_at)
                ),
            ));
        }
        let increment = match increment {
            Some(secs) => secs,
            None => self.lease_config(&lease.mount)?.lease,
        };
        let wanted = now + increment as i64;
        let mut warning = None;
        let expires_at = if wanted > lease.max_expires_at {
            warning = Some(format!(
                "TTL of \"{}\" exceeded the effective max_ttl of \"{}\"; TTL value is capped \
                 accordingly",
                duration::format(increment),
                duration::format((lease.max_expires_at - now).max(0) as u64)
            ));
            lease.max_expires_at
        } else {
            wanted
        };
        if !self.store.renew_lease(id, now, expires_at)? {
            return Err(Error::input_hint(
                format!("lease {id} has expired or is being revoked, and cannot be renewed"),
                "read new credentials instead",
            ));
        }
        let info = LeaseInfo {
            id: id.to_string(),
            duration: (expires_at - now).max(0) as u64,
            renewable: expires_at < lease.max_expires_at,
        };
        Ok((info, warning))
    }

    /// One lease by id, or a clear error.
    pub fn lease(&self, id: &str) -> Result<Lease> {
        self.store.lease(id)?.ok_or_else(|| {
            Error::input_hint(
                format!("lease not found: {id}"),
                "awscreds lease list shows the leases",
            )
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

/// Whether credentials of `kind` come with the field `name`.
pub(super) fn returns(kind: CredentialType, name: &str) -> bool {
    match name {
        "session_token" | "expiration" | "ttl" => kind.is_sts(),
        "arn" => matches!(
            kind,
            CredentialType::AssumedRole | CredentialType::FederationToken
        ),
        _ => true,
    }
}

/// The template in `text`, or `default` when it is empty.
fn name_template(text: &str, default: &str, limit: usize) -> Result<Template> {
    let text = if text.is_empty() { default } else { text };
    Template::parse(text, limit, "name template")
}

/// Seconds until a failed revocation is tried again: 30 s doubling per attempt, at most an hour.
pub(super) fn retry_delay(attempts: u32) -> i64 {
    (30i64 << attempts.min(7)).min(3600)
}

fn is_code(e: &CloudError, wanted: &str) -> bool {
    matches!(e, CloudError::Api { code, .. } if code == wanted)
}

fn is_conflict(e: &CloudError) -> bool {
    is_code(e, "DeleteConflict")
}

/// Removes every attachment of `kind`; `Ok(false)` when the user does not exist.
async fn strip<T: Cloud + ?Sized>(
    cloud: &T,
    user: &str,
    kind: Attachment,
) -> std::result::Result<bool, CloudError> {
    let ids = match cloud.list(user, kind).await {
        Err(CloudError::NoSuchEntity(_)) => return Ok(false),
        other => other?,
    };
    for id in &ids {
        match cloud.remove(user, kind, id).await {
            Ok(()) | Err(CloudError::NoSuchEntity(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Deletes an IAM user. First what awscreds put on it (access keys, inline policies): exactly
/// `known` when the lease recorded it, else whatever IAM lists; then the user. Only if IAM
/// refuses because someone attached more (a login profile, MFA, managed policies, groups, SSH
/// keys, certificates, service credentials, another key: Vault leaks the user here, its issue
/// #16685) is everything removed, best effort, and DeleteUser tried again. So the usual
/// revocation costs the fewest calls (three), and the unusual one still leaves nothing behind.
/// "No such entity" for the user means someone already deleted it.
pub(super) async fn delete_iam_user<T: Cloud + ?Sized>(
    cloud: &T,
    user: &str,
    known: Option<&[(Attachment, String)]>,
) -> std::result::Result<Deleted, CloudError> {
    match known {
        Some(items) => {
            let mut items = items.to_vec();
            items.sort(); // access keys first: the credential dies before anything else
            for (kind, id) in &items {
                match cloud.remove(user, *kind, id).await {
                    Ok(()) | Err(CloudError::NoSuchEntity(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        None => {
            for kind in Attachment::OWN {
                if !strip(cloud, user, kind).await? {
                    return Ok(Deleted::AlreadyGone);
                }
            }
        }
    }
    match cloud.delete_user(user).await {
        Ok(()) => return Ok(Deleted::Now),
        Err(CloudError::NoSuchEntity(_)) => return Ok(Deleted::AlreadyGone),
        Err(e) if is_conflict(&e) => {}
        Err(e) => return Err(e),
    }
    let mut trouble: Option<CloudError> = None;
    match cloud.delete_login_profile(user).await {
        Ok(()) | Err(CloudError::NoSuchEntity(_)) => {}
        Err(e) => trouble = Some(e),
    }
    for kind in Attachment::OTHERS.into_iter().chain(Attachment::OWN) {
        if let Err(e) = strip(cloud, user, kind).await {
            trouble.get_or_insert(e);
        }
    }
    match cloud.delete_user(user).await {
        Ok(()) => Ok(Deleted::Now),
        Err(CloudError::NoSuchEntity(_)) => Ok(Deleted::AlreadyGone),
        Err(CloudError::Api { code, message }) if trouble.is_some() => Err(CloudError::Api {
            code,
            message: format!(
                "{message} (while removing what is attached: {})",
                trouble.expect("checked")
            ),
        }),
        Err(e) => Err(e),
    }
}
