//! AWS's errors, sorted once into [`CloudError`]'s variants, with messages in words: an error
//! body the SDK cannot parse still yields its code and message, and a connection failure says
//! where and why ("cannot reach AWS at http://...: connection refused").

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::cloud::{Attempts, CloudError};
use crate::env::EnvVars;

/// Sorts an SDK error into the few cases the engine treats differently. The message carries AWS's
/// own text, never a credential; `at` says where the call went and how often it was tried.
pub(super) fn classify<E>(
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
    at: &Endpoint,
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
                    CloudError::Throttled {
                        message,
                        attempts: at.attempts,
                    }
                }
                Some(code) if status.is_server_error() => CloudError::ServerError {
                    message: format!("{code}: {message}"),
                    attempts: at.attempts,
                },
                Some(code) => CloudError::Refused {
                    code: code.to_string(),
                    message,
                },
                None if status.is_server_error() => CloudError::ServerError {
                    message: format!("HTTP {}", status.as_u16()),
                    attempts: at.attempts,
                },
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
            endpoint: at.url.clone(),
            reason: "no answer in time".into(),
            attempts: at.attempts,
        },
        SdkError::DispatchFailure(failure) => CloudError::Unreachable {
            endpoint: at.url.clone(),
            attempts: at.attempts,
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

/// Where a client's calls go and how many times each is tried, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Endpoint {
    pub url: String,
    pub attempts: Attempts,
}

/// Where calls to a service go, for messages: the mount's endpoint, else the standard variables,
/// else AWS's own endpoint.
pub(super) fn endpoint_for(configured: Option<&str>, service_var: &str, default: String) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_error_bodies_yield_code_and_message() {
        let body = "<ErrorResponse><Errors><Error><Code>AccessDenied</Code>\
            <Message>User is not authorized</Message></Error></Errors></ErrorResponse>";
        assert_eq!(xml_text(body, "Code").as_deref(), Some("AccessDenied"));
        assert_eq!(
            xml_text(body, "Message").as_deref(),
            Some("User is not authorized")
        );
        assert_eq!(xml_text(body, "RequestId"), None);
        assert_eq!(xml_text("<Code></Code>", "Code"), None);
    }

    #[test]
    fn connection_failures_are_said_in_words() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] std::io::Error);
        assert_eq!(unreachable_reason(&Outer(refused)), "connection refused");
        assert_eq!(
            strip_os_error("Connection refused (os error 111)"),
            "Connection refused"
        );
    }
}
