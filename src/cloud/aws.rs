//! The real cloud: the official AWS SDK for Rust, with one hyper/rustls(ring) HTTP client.
//! Endpoints come from `config/root` first, then the standard `AWS_ENDPOINT_URL_IAM` /
//! `AWS_ENDPOINT_URL` variables and profile settings, which the SDK reads itself.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{
    AccessKey, Attachment, Cloud, CloudError, Connector, MAX_ATTEMPTS, NewUser, Result,
    StsCredentials, StsRequest,
};
use crate::env::EnvVars;
use crate::model::{CredentialType, RootConfig};

/// Connects to AWS with the SDK.
#[derive(Debug, Default, Clone)]
pub struct AwsConnector;

pub struct AwsCloud {
    iam: Client,
    sts: aws_sdk_sts::Client,
    /// Where IAM and STS calls go, for messages.
    iam_at: String,
    sts_at: String,
}

impl Connector for AwsConnector {
    type Cloud = AwsCloud;

    async fn connect(&self, config: &RootConfig) -> Result<AwsCloud> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(20))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let attempts = config
            .max_retries
            .map_or(MAX_ATTEMPTS, |n| n.saturating_add(1));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(aws_config::Region::new(region(config)))
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(attempts));
        if config.has_keys() {
            loader = loader.credentials_provider(Credentials::new(
                config.access_key.clone(),
                config.secret_key.clone(),
                None,
                None,
                "awscreds-config-root",
            ));
        }
        // Otherwise the SDK's default chain: environment, shared files and profiles (incl. SSO
        // and credential_process), web identity, container and instance roles.
        if !config.profile.is_empty() {
            loader = loader.profile_name(&config.profile);
        }
        let shared = loader.load().await;
        let mut iam = aws_sdk_iam::config::Builder::from(&shared);
        if let Some(endpoint) = config.iam_endpoint.as_deref().filter(|e| !e.is_empty()) {
            iam = iam.endpoint_url(endpoint);
        }
        let mut sts = aws_sdk_sts::config::Builder::from(&shared);
        if let Some(endpoint) = config.sts_endpoint.as_deref().filter(|e| !e.is_empty()) {
            sts = sts.endpoint_url(endpoint);
        }
        let region = region(config);
        Ok(AwsCloud {
            iam: Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            iam_at: endpoint_for(
                config.iam_endpoint.as_deref(),
                EnvVars::AWS_ENDPOINT_URL_IAM,
                "https://iam.amazonaws.com".into(),
            ),
            sts_at: endpoint_for(
                config.sts_endpoint.as_deref(),
                EnvVars::AWS_ENDPOINT_URL_STS,
                format!("https://sts.{region}.amazonaws.com"),
            ),
        })
    }
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

/// The region for API calls: config/root's, else AWS_REGION, else AWS_DEFAULT_REGION, else
/// us-east-1. Read here rather than by the SDK's chain, which would ask the instance metadata
/// service and wait for its timeout on machines that have none.
fn region(config: &RootConfig) -> String {
    region_from(config, |name| std::env::var(name).ok())
}

fn region_from(config: &RootConfig, env: impl Fn(&str) -> Option<String>) -> String {
    [
        Some(config.region.clone()),
        env(EnvVars::AWS_REGION),
        env(EnvVars::AWS_DEFAULT_REGION),
    ]
    .into_iter()
    .flatten()
    .find(|r| !r.is_empty())
    .unwrap_or_else(|| "us-east-1".to_string())
}

/// Sorts an SDK error into the few cases the engine treats differently. The message carries AWS's
/// own text, never a credential; `endpoint` is where the call went, for "cannot reach".
fn classify<E>(
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    endpoint: &str,
) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let status = service.raw().status();
            let (code, message) = match inner.code() {
                Some(code) => (
                    Some(code.to_string()),
                    inner.message().unwrap_or_default().to_string(),
                ),
                // A body the SDK could not parse (the emulator nests AccessDenied as
                // <Errors><Error>): its code and message are still there to read.
                None => {
                    let body = service.raw().body().bytes().unwrap_or_default();
                    let body = String::from_utf8_lossy(body);
                    let message = inner
                        .message()
                        .map(str::to_string)
                        .or_else(|| xml_text(&body, "Message"))
                        .unwrap_or_default();
                    (xml_text(&body, "Code"), message)
                }
            };
            match code.as_deref() {
                Some("NoSuchEntity") => CloudError::NoSuchEntity(message),
                Some("EntityAlreadyExists") => CloudError::AlreadyExists(message),
                Some("DeleteConflict") => CloudError::DeleteConflict(message),
                Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                    CloudError::Throttled(message)
                }
                Some(code) if status.is_server_error() => {
                    CloudError::ServerError(format!("{code}: {message}"))
                }
                Some(code) => CloudError::Refused {
                    code: code.to_string(),
                    message,
                },
                None if status.is_server_error() => {
                    CloudError::ServerError(format!("HTTP {}", status.as_u16()))
                }
                None => CloudError::Refused {
                    code: format!("HTTP {}", status.as_u16()),
                    message: if message.is_empty() {
                        "AWS returned an error without a code".into()
                    } else {
                        message
                    },
                },
            }
        }
        SdkError::TimeoutError(_) => CloudError::Unreachable {
            endpoint: endpoint.to_string(),
            reason: "no answer in time".into(),
        },
        SdkError::DispatchFailure(failure) => CloudError::Unreachable {
            endpoint: endpoint.to_string(),
            reason: if failure.is_timeout() {
                "no answer in time".into()
            } else {
                unreachable_reason(&err)
            },
        },
        _ => CloudError::Other(DisplayErrorContext(&err).to_string()),
    }
}

/// Why a connection failed, in words: the innermost I/O error ("connection refused"), else the
/// innermost cause's own text.
fn unreachable_reason(err: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return match io.kind() {
                std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => "connection reset".into(),
                std::io::ErrorKind::TimedOut => "connection timed out".into(),
                _ => strip_os_error(&io.to_string()),
            };
        }
        innermost = cause.to_string();
        source = cause.source();
    }
    strip_os_error(&innermost)
}

/// "Connection refused (os error 111)" -> "Connection refused".
fn strip_os_error(text: &str) -> String {
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text.to_string(),
    }
}

/// The text of the first `<tag>...</tag>` in an XML error body.
fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    let text = body[start..end].trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Where calls to a service go, for messages: the mount's endpoint, else the standard variables,
/// else AWS's own endpoint.
fn endpoint_for(configured: Option<&str>, service_var: &str, default: String) -> String {
    configured
        .filter(|e| !e.is_empty())
        .map(str::to_string)
        .or_else(|| std::env::var(service_var).ok().filter(|e| !e.is_empty()))
        .or_else(|| {
            std::env::var(EnvVars::AWS_ENDPOINT_URL)
                .ok()
                .filter(|e| !e.is_empty())
        })
        .unwrap_or(default)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_documents_are_url_decoded() {
        assert_eq!(percent_decode("%7B%22a%22%3A1%7D"), r#"{"a":1}"#);
        assert_eq!(percent_decode(r#"{"a": "b%20c"}"#), r#"{"a": "b%20c"}"#);
    }

    #[test]
    fn the_region_falls_back_to_the_environment_then_us_east_1() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                vars.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let mut config = RootConfig::default();
        assert_eq!(region_from(&config, env(&[])), "us-east-1");
        let both = &[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "eu-north-1"),
        ];
        assert_eq!(region_from(&config, env(both)), "eu-west-1");
        assert_eq!(
            region_from(&config, env(&[("AWS_DEFAULT_REGION", "eu-north-1")])),
            "eu-north-1"
        );
        config.region = "ap-south-1".into();
        assert_eq!(region_from(&config, env(both)), "ap-south-1");
    }
}
