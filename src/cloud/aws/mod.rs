//! The real cloud: the official AWS SDK for Rust, with one hyper/rustls(ring) HTTP client.
//! Endpoints come from `config/root` first, then the standard `AWS_ENDPOINT_URL_IAM` /
//! `AWS_ENDPOINT_URL` variables and profile settings, which the SDK reads itself.

mod connect;

pub use connect::region;
mod errors;
mod kms;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::Tag;

use super::{
    AccessKey, Attachment, Attempts, Cloud, CloudError, NewUser, Result, StsCredentials, StsRequest,
};
use crate::model::{Credential, CredentialType};
use errors::{Endpoint, classify};

/// Connects to AWS with the SDK.
#[derive(Debug, Default, Clone)]
pub struct AwsConnector;

/// The SDK's IAM and STS clients for one mount.
pub struct AwsCloud {
    iam: Client,
    sts: aws_sdk_sts::Client,
    /// Where IAM and STS calls go, for messages.
    iam_at: Endpoint,
    sts_at: Endpoint,
    /// Whether the IAM client retries throttled calls itself (see [`Cloud::retry_throttling`]).
    retry_throttles: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// IAM returns policy documents URL-encoded (RFC 3986); a document that is already JSON is
/// left alone.
fn percent_decode(text: &str) -> String {
    if text.trim_start().starts_with('{') {
        return text.to_string();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Cloud for AwsCloud {
    async fn create_user(&self, user: &NewUser<'_>) -> Result<()> {
        let tags = user
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CloudError::Other(e.to_string()))?;
        self.iam
            .create_user()
            .user_name(user.name)
            .path(user.path)
            .set_tags(Some(tags))
            .set_permissions_boundary(user.permissions_boundary.map(str::to_string))
            .send()
            .await
            .map_err(|e| classify(e, &self.iam_at))?;
        Ok(())
    }

    async fn put_user_policy(&self, user: &str, policy_name: &str, document: &str) -> Result<()> {
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .policy_document(document)
            .send()
            .await
            .map_err(|e| classify(e, &self.iam_at))?;
        Ok(())
    }

    async fn create_access_key(&self, user: &str) -> Result<AccessKey> {
        let out = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify(e, &self.iam_at))?;
        let key = out
            .access_key()
            .ok_or_else(|| CloudError::Other("CreateAccessKey returned no key".into()))?;
        Ok(AccessKey {
            access_key_id: key.access_key_id().to_string(),
            secret_access_key: key.secret_access_key().to_string(),
        })
    }

    async fn list(&self, user: &str, kind: Attachment) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        // Each listing follows its pagination markers to the end.
        macro_rules! collect {
            ($request:expr, |$page:ident| $items:expr) => {{
                let mut pages = $request.into_paginator().send();
                while let Some($page) = pages.next().await {
                    let $page = $page.map_err(|e| classify(e, &self.iam_at))?;
                    ids.extend($items);
                }
            }};
        }
        let iam = &self.iam;
        match kind {
            Attachment::AccessKey => collect!(iam.list_access_keys().user_name(user), |p| p
                .access_key_metadata()
                .iter()
                .filter_map(|k| k.access_key_id().map(str::to_string))),
            Attachment::InlinePolicy => {
                collect!(iam.list_user_policies().user_name(user), |p| p
                    .policy_names()
                    .to_vec())
            }
            Attachment::ManagedPolicy => {
                collect!(iam.list_attached_user_policies().user_name(user), |p| p
                    .attached_policies()
                    .iter()
                    .filter_map(|a| a.policy_arn().map(str::to_string)))
            }
            Attachment::Group => collect!(iam.list_groups_for_user().user_name(user), |p| p
                .groups()
                .iter()
                .map(|g| g.group_name().to_string())),
            Attachment::MfaDevice => collect!(iam.list_mfa_devices().user_name(user), |p| p
                .mfa_devices()
                .iter()
                .map(|d| d.serial_number().to_string())),
            Attachment::SshPublicKey => collect!(iam.list_ssh_public_keys().user_name(user), |p| p
                .ssh_public_keys()
                .iter()
                .map(|k| k.ssh_public_key_id().to_string())),
            Attachment::SigningCertificate => {
                collect!(iam.list_signing_certificates().user_name(user), |p| p
                    .certificates()
                    .iter()
                    .map(|c| c.certificate_id().to_string()))
            }
            Attachment::ServiceSpecificCredential => {
                // Not paginated.
                let out = iam
                    .list_service_specific_credentials()
                    .user_name(user)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.iam_at))?;
                ids.extend(
                    out.service_specific_credentials()
                        .iter()
                        .map(|c| c.service_specific_credential_id().to_string()),
                );
            }
        }
        Ok(ids)
    }

    async fn remove(&self, user: &str, kind: Attachment, id: &str) -> Result<()> {
        let iam = &self.iam;
        macro_rules! send {
            ($request:expr) => {{
                $request
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.iam_at))?;
            }};
        }
        match kind {
            Attachment::AccessKey => {
                send!(iam.delete_access_key().user_name(user).access_key_id(id))
            }
            Attachment::InlinePolicy => {
                send!(iam.delete_user_policy().user_name(user).policy_name(id))
            }
            Attachment::ManagedPolicy => {
                send!(iam.detach_user_policy().user_name(user).policy_arn(id))
            }
            Attachment::Group => {
                send!(iam.remove_user_from_group().user_name(user).group_name(id))
            }
            Attachment::MfaDevice => {
                send!(
                    iam.deactivate_mfa_device()
                        .user_name(user)
                        .serial_number(id)
                )
            }
            Attachment::SshPublicKey => send!(
                iam.delete_ssh_public_key()
                    .user_name(user)
                    .ssh_public_key_id(id)
            ),
            Attachment::SigningCertificate => send!(
                iam.delete_signing_certificate()
                    .user_name(user)
                    .certificate_id(id)
            ),
            Attachment::ServiceSpecificCredential => send!(
                iam.delete_service_specific_credential()
                    .user_name(user)
                    .service_specific_credential_id(id)
            ),
        }
        Ok(())
    }

    async fn attach(&self, user: &str, kind: Attachment, id: &str) -> Result<()> {
        match kind {
            Attachment::ManagedPolicy => {
                self.iam
                    .attach_user_policy()
                    .user_name(user)
                    .policy_arn(id)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.iam_at))?;
            }
            Attachment::Group => {
                self.iam
                    .add_user_to_group()
                    .user_name(user)
                    .group_name(id)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.iam_at))?;
            }
            other => {
                return Err(CloudError::Other(format!(
                    "awscreds does not attach {other:?} to users"
                )));
            }
        }
        Ok(())
    }

    async fn delete_login_profile(&self, user: &str) -> Result<()> {
        self.iam
            .delete_login_profile()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify(e, &self.iam_at))?;
        Ok(())
    }

    async fn list_users(&self, path_prefix: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self
            .iam
            .list_users()
            .path_prefix(path_prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(e, &self.iam_at))?;
            names.extend(page.users().iter().map(|u| u.user_name().to_string()));
        }
        Ok(names)
    }

    async fn user_tags(&self, user: &str) -> Result<Vec<(String, String)>> {
        let mut tags = Vec::new();
        let mut pages = self
            .iam
            .list_user_tags()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| classify(e, &self.iam_at))?;
            tags.extend(
                page.tags()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string())),
            );
        }
        Ok(tags)
    }

    async fn delete_user(&self, user: &str) -> Result<()> {
        self.iam
            .delete_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| classify(e, &self.iam_at))?;
        Ok(())
    }

    async fn group_policies(&self, group: &str) -> Result<(Vec<String>, Vec<String>)> {
        let mut documents = Vec::new();
        let mut pages = self
            .iam
            .list_group_policies()
            .group_name(group)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for name in page.map_err(|e| classify(e, &self.iam_at))?.policy_names() {
                let out = self
                    .iam
                    .get_group_policy()
                    .group_name(group)
                    .policy_name(name)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.iam_at))?;
                documents.push(percent_decode(out.policy_document()));
            }
        }
        let mut arns = Vec::new();
        let mut pages = self
            .iam
            .list_attached_group_policies()
            .group_name(group)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            arns.extend(
                page.map_err(|e| classify(e, &self.iam_at))?
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn().map(str::to_string)),
            );
        }
        Ok((documents, arns))
    }

    async fn caller_user_name(&self) -> Result<String> {
        let out = self
            .iam
            .get_user()
            .send()
            .await
            .map_err(|e| classify(e, &self.iam_at))?;
        out.user()
            .map(|u| u.user_name().to_string())
            .ok_or_else(|| CloudError::Other("GetUser returned no user".into()))
    }

    fn retry_throttling(&self, retry: bool) {
        self.retry_throttles
            .store(retry, std::sync::atomic::Ordering::Relaxed);
    }

    async fn caller_with(&self, credential: &Credential) -> Result<String> {
        let out = self
            .sts_as(credential)
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| {
                classify(
                    e,
                    &Endpoint {
                        attempts: Attempts(1),
                        ..self.sts_at.clone()
                    },
                )
            })?;
        Ok(out.arn().unwrap_or_default().to_string())
    }

    async fn sts(&self, request: &StsRequest<'_>) -> Result<StsCredentials> {
        use aws_sdk_sts::types::{PolicyDescriptorType, Tag as StsTag};
        let arns: Vec<PolicyDescriptorType> = request
            .policy_arns
            .iter()
            .map(|arn| PolicyDescriptorType::builder().arn(arn).build())
            .collect();
        let arns = (!arns.is_empty()).then_some(arns);
        let policy = request.policy.map(str::to_string);
        let (serial, code) = match request.mfa {
            Some((serial, code)) => (Some(serial.to_string()), Some(code.to_string())),
            None => (None, None),
        };
        let (credentials, arn) = match request.kind {
            CredentialType::AssumedRole => {
                let tags = request
                    .tags
                    .iter()
                    .map(|(k, v)| StsTag::builder().key(k).value(v).build())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| CloudError::Other(e.to_string()))?;
                let out = self
                    .sts
                    .assume_role()
                    .role_arn(request.role_arn)
                    .role_session_name(request.name)
                    .duration_seconds(request.duration_seconds)
                    .set_policy(policy)
                    .set_policy_arns(arns)
                    .set_tags((!tags.is_empty()).then_some(tags))
                    .set_external_id(request.external_id.map(str::to_string))
                    .set_serial_number(serial)
                    .set_token_code(code)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.sts_at))?;
                let arn = out.assumed_role_user().map(|u| u.arn().to_string());
                (out.credentials, arn)
            }
            CredentialType::FederationToken => {
                let out = self
                    .sts
                    .get_federation_token()
                    .name(request.name)
                    .duration_seconds(request.duration_seconds)
                    .set_policy(policy)
                    .set_policy_arns(arns)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.sts_at))?;
                let arn = out.federated_user().map(|u| u.arn().to_string());
                (out.credentials, arn)
            }
            CredentialType::SessionToken => {
                let out = self
                    .sts
                    .get_session_token()
                    .duration_seconds(request.duration_seconds)
                    .set_serial_number(serial)
                    .set_token_code(code)
                    .send()
                    .await
                    .map_err(|e| classify(e, &self.sts_at))?;
                (out.credentials, None)
            }
            CredentialType::IamUser => {
                return Err(CloudError::Other(
                    "iam_user credentials do not come from STS".into(),
                ));
            }
        };
        let c =
            credentials.ok_or_else(|| CloudError::Other("STS returned no credentials".into()))?;
        Ok(StsCredentials {
            access_key_id: c.access_key_id,
            secret_access_key: c.secret_access_key,
            session_token: c.session_token,
            expiration: c.expiration.secs(),
            arn,
        })
    }
}

impl AwsCloud {
    /// The STS client, signing with `credential` and trying each call once.
    fn sts_as(&self, credential: &Credential) -> aws_sdk_sts::Client {
        let config = self
            .sts
            .config()
            .to_builder()
            .credentials_provider(aws_credential_types::Credentials::new(
                credential.access_key_id.clone(),
                credential.secret_access_key.clone(),
                credential.session_token.clone(),
                None,
                "awscreds-issued",
            ))
            .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
            .build();
        aws_sdk_sts::Client::from_conf(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_url_decoded() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), r#"{"a":1}"#);
        assert_eq!(percent_decode(r#"{"a": "b%20c"}"#), r#"{"a": "b%20c"}"#);
    }
}
