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

use super::{AccessKey, Attachment, Cloud, CloudError, Connector, MAX_ATTEMPTS, NewUser, Result};
use crate::model::RootConfig;

/// Connects to AWS with the SDK.
#[derive(Debug, Default, Clone)]
pub struct AwsConnector;

pub struct AwsCloud {
    iam: Client,
}

impl Connector for AwsConnector {
    type Cloud = AwsCloud;

    async fn connect(&self, config: &RootConfig) -> Result<AwsCloud> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let credentials = Credentials::new(
            config.access_key.clone(),
            config.secret_key.clone(),
            None,
            None,
            "awscreds-config-root",
        );
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(20))
            .operation_timeout(Duration::from_secs(60))
            .build();
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .credentials_provider(credentials)
            .region(aws_config::Region::new(config.region.clone()))
            .timeout_config(timeouts)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .load()
            .await;
        let mut iam = aws_sdk_iam::config::Builder::from(&shared);
        if let Some(endpoint) = config.iam_endpoint.as_deref().filter(|e| !e.is_empty()) {
            iam = iam.endpoint_url(endpoint);
        }
        Ok(AwsCloud {
            iam: Client::from_conf(iam.build()),
        })
    }
}

/// Sorts an SDK error into the few cases the engine treats differently. The message carries AWS's
/// own text, never a credential.
fn classify<E>(err: SdkError<E, aws_smithy_runtime_api::http::Response>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            let message = inner.message().unwrap_or_default().to_string();
            match inner.code() {
                Some("NoSuchEntity") => CloudError::NoSuchEntity(message),
                Some("Throttling" | "ThrottlingException" | "RequestLimitExceeded") => {
                    CloudError::Throttled(message)
                }
                Some(code) if service.raw().status().is_server_error() => {
                    CloudError::ServerError(format!("{code}: {message}"))
                }
                Some(code) => CloudError::Api {
                    code: code.to_string(),
                    message,
                },
                None if service.raw().status().is_server_error() => {
                    CloudError::ServerError(format!("HTTP {}", service.raw().status().as_u16()))
                }
                None => CloudError::Api {
                    code: format!("HTTP {}", service.raw().status().as_u16()),
                    message: if message.is_empty() {
                        "AWS returned an error without a code".into()
                    } else {
                        message
                    },
                },
            }
        }
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            CloudError::Unreachable(DisplayErrorContext(&err).to_string())
        }
        _ => CloudError::Other(DisplayErrorContext(&err).to_string()),
    }
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
            .send()
            .await
            .map_err(classify)?;
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
            .map_err(classify)?;
        Ok(())
    }

    async fn create_access_key(&self, user: &str) -> Result<AccessKey> {
        let out = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(classify)?;
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
                    let $page = $page.map_err(classify)?;
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
                    .map_err(classify)?;
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
                $request.send().await.map_err(classify)?;
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

    async fn delete_login_profile(&self, user: &str) -> Result<()> {
        self.iam
            .delete_login_profile()
            .user_name(user)
            .send()
            .await
            .map_err(classify)?;
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
            let page = page.map_err(classify)?;
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
            let page = page.map_err(classify)?;
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
            .map_err(classify)?;
        Ok(())
    }
}
