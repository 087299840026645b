//! The real cloud: the official AWS SDK for Rust, with one hyper/rustls(ring) HTTP client.
//! Endpoints come from `config/root` first, then the standard `AWS_ENDPOINT_URL_IAM` /
//! `AWS_ENDPOINT_URL` variables and profile settings, which the SDK reads itself.

use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_sdk_iam::Client;
use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_types::error::display::DisplayErrorContext;

use super::{AccessKey, Cloud, CloudError, Connector, NewUser, Result};
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
                Some(code) => CloudError::Api {
                    code: code.to_string(),
                    message,
                },
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

    async fn list_access_keys(&self, user: &str) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        let mut pages = self
            .iam
            .list_access_keys()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(classify)?;
            ids.extend(
                page.access_key_metadata()
                    .iter()
                    .filter_map(|k| k.access_key_id().map(str::to_string)),
            );
        }
        Ok(ids)
    }

    async fn delete_access_key(&self, user: &str, access_key_id: &str) -> Result<()> {
        self.iam
            .delete_access_key()
            .user_name(user)
            .access_key_id(access_key_id)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn list_user_policies(&self, user: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut pages = self
            .iam
            .list_user_policies()
            .user_name(user)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            names.extend(page.map_err(classify)?.policy_names().iter().cloned());
        }
        Ok(names)
    }

    async fn delete_user_policy(&self, user: &str, policy_name: &str) -> Result<()> {
        self.iam
            .delete_user_policy()
            .user_name(user)
            .policy_name(policy_name)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
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
