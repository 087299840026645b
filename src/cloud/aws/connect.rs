//! Connecting: one SDK configuration per mount, from its `config/root` (keys or the standard
//! credential chain, profile, region, endpoints, retries) and the standard AWS environment. No
//! network I/O happens here.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_credential_types::Credentials;
use aws_sdk_iam::Client;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_types::retry::ErrorKind;

use super::errors::{Endpoint, endpoint_for};
use super::kms::AwsKms;
use super::{AwsCloud, AwsConnector};
use crate::cloud::{Attempts, Connector, MAX_ATTEMPTS, Result};
use crate::env::EnvVars;
use crate::model::RootConfig;

impl Connector for AwsConnector {
    type Cloud = AwsCloud;
    type Kms = AwsKms;

    async fn connect(&self, config: &RootConfig, secret_key: &str) -> Result<AwsCloud> {
        let attempts = config
            .max_retries
            .map_or(MAX_ATTEMPTS, |n| n.saturating_add(1));
        let mut loader = loader(region(config), attempts);
        if config.has_keys() {
            loader = loader.credentials_provider(Credentials::new(
                config.access_key.clone(),
                secret_key.to_string(),
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
        let retry_throttles = Arc::new(AtomicBool::new(true));
        let mut iam = aws_sdk_iam::config::Builder::from(&shared)
            .retry_classifier(ThrottlesToCaller(retry_throttles.clone()));
        if let Some(endpoint) = config.iam_endpoint.as_deref().filter(|e| !e.is_empty()) {
            iam = iam.endpoint_url(endpoint);
            if plain_http(endpoint) {
                iam = iam.http_client(http_only());
            }
        }
        let mut sts = aws_sdk_sts::config::Builder::from(&shared);
        if let Some(endpoint) = config.sts_endpoint.as_deref().filter(|e| !e.is_empty()) {
            sts = sts.endpoint_url(endpoint);
            if plain_http(endpoint) {
                sts = sts.http_client(http_only());
            }
        }
        let region = region(config);
        Ok(AwsCloud {
            iam: Client::from_conf(iam.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            iam_at: Endpoint {
                url: endpoint_for(
                    config.iam_endpoint.as_deref(),
                    EnvVars::AWS_ENDPOINT_URL_IAM,
                    "https://iam.amazonaws.com".into(),
                ),
                attempts: Attempts(attempts),
            },
            sts_at: Endpoint {
                url: endpoint_for(
                    config.sts_endpoint.as_deref(),
                    EnvVars::AWS_ENDPOINT_URL_STS,
                    format!("https://sts.{region}.amazonaws.com"),
                ),
                attempts: Attempts(attempts),
            },
            retry_throttles,
        })
    }

    /// KMS with this machine's standard AWS configuration: the environment (including
    /// `AWS_ENDPOINT_URL_KMS` and `AWS_ENDPOINT_URL`, which the SDK reads), profiles and the
    /// credential chain.
    async fn kms(&self) -> Result<AwsKms> {
        let region = region(&RootConfig::default());
        let shared = loader(region.clone(), MAX_ATTEMPTS).load().await;
        Ok(AwsKms::new(
            aws_sdk_kms::Client::new(&shared),
            Endpoint {
                url: endpoint_for(
                    None,
                    EnvVars::AWS_ENDPOINT_URL_KMS,
                    format!("https://kms.{region}.amazonaws.com"),
                ),
                attempts: Attempts(MAX_ATTEMPTS),
            },
        ))
    }
}

/// Runs after the SDK's own classifiers: while its flag is off, a throttled IAM call is not
/// retried by the SDK but returned at once, for the sweep to pace itself by.
#[derive(Debug)]
struct ThrottlesToCaller(Arc<AtomicBool>);

impl ClassifyRetry for ThrottlesToCaller {
    fn classify_retry(&self, _: &InterceptorContext) -> RetryAction {
        RetryAction::NoActionIndicated
    }

    fn classify_retry_v2(&self, _: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        let throttled = matches!(
            previous,
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: ErrorKind::ThrottlingError,
                ..
            })
        );
        if throttled && !self.0.load(Ordering::Relaxed) {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "awscreds: throttles to the caller"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

/// The SDK's configuration loader with awscreds' HTTP client, timeouts and retries.
fn loader(region: String, attempts: u32) -> aws_config::ConfigLoader {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build();
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .region(aws_config::Region::new(region))
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts))
}

/// Whether `endpoint` is reached without TLS (an emulator on this machine, say).
fn plain_http(endpoint: &str) -> bool {
    endpoint
        .get(..7)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// The HTTP client for an `http://` endpoint: without TLS, so without the system's root
/// certificates, whose loading (hundreds of files read and parsed when the client is built) is
/// most of what building an HTTPS client costs. Timeouts and retries still come from the SDK
/// configuration.
fn http_only() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    aws_smithy_http_client::Builder::new().build_http()
}

/// The region for API calls: config/root's, else AWS_REGION, else AWS_DEFAULT_REGION, else
/// us-east-1. Read here rather than by the SDK's chain, which would ask the instance metadata
/// service and wait for its timeout on machines that have none.
pub fn region(config: &RootConfig) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_an_http_url_is_reached_without_tls() {
        assert!(plain_http("http://127.0.0.1:5000"));
        assert!(plain_http("HTTP://localhost"));
        assert!(!plain_http("https://iam.amazonaws.com"));
        assert!(!plain_http("iam.amazonaws.com"));
        assert!(!plain_http("http"));
    }
}
