//! `config/root` and `config/lease`: a mount's root credentials and lease settings.

use serde_json::{Map, Value, json};

use super::routes::{Target, string_param};
use super::{Engine, Secret};
use crate::cloud::Connector;
use crate::duration;
use crate::error::{Error, Result};
use crate::model::{LeaseConfig, RootConfig};
use crate::store::Store;

impl<S: Store, C: Connector> Engine<S, C> {
    /// Everything but the secret key, which is never shown.
    pub(super) fn read_root_config(&self, target: &Target) -> Result<Secret> {
        let Some(config) = self.store.root_config(&target.mount)? else {
            return Err(Error::NotFound(target.path()));
        };
        let data = json!({
            "access_key": config.access_key,
            "region": config.region,
            "iam_endpoint": config.iam_endpoint.unwrap_or_default(),
            "sts_endpoint": config.sts_endpoint.unwrap_or_default(),
        });
        Ok(Secret::data(into_map(data)))
    }

    pub(super) fn write_root_config(
        &self,
        target: &Target,
        data: &Map<String, Value>,
    ) -> Result<()> {
        let get = |name| -> Result<String> { Ok(string_param(data, name)?.unwrap_or_default()) };
        let config = RootConfig {
            access_key: nonempty("access_key", get("access_key")?)?,
            secret_key: nonempty("secret_key", get("secret_key")?)?,
            region: region(get("region")?)?,
            iam_endpoint: endpoint("iam_endpoint", get("iam_endpoint")?)?,
            sts_endpoint: endpoint("sts_endpoint", get("sts_endpoint")?)?,
        };
        self.store.set_root_config(&target.mount, &config)?;
        // A client built before this write must not be used after it.
        self.clouds.borrow_mut().remove(&target.mount);
        Ok(())
    }

    pub(super) fn lease_config(&self, mount: &str) -> Result<LeaseConfig> {
        Ok(self.store.lease_config(mount)?.unwrap_or_default())
    }

    pub(super) fn read_lease_config(&self, target: &Target) -> Result<Secret> {
        let config = self.lease_config(&target.mount)?;
        let data = json!({
            "lease": duration::format(config.lease),
            "lease_max": duration::format(config.lease_max),
        });
        Ok(Secret::data(into_map(data)))
    }

    pub(super) fn write_lease_config(
        &self,
        target: &Target,
        data: &Map<String, Value>,
    ) -> Result<()> {
        let get = |name| -> Result<u64> {
            let text = string_param(data, name)?.unwrap_or_default();
            duration::parse(&text).map_err(|e| match e {
                Error::Input { message, hint } => Error::Input {
                    message: format!("{name}: {message}"),
                    hint,
                },
                other => other,
            })
        };
        let config = LeaseConfig {
            lease: get("lease")?,
            lease_max: get("lease_max")?,
        };
        if config.lease == 0 {
            return Err(Error::input_hint(
                "lease: must be at least 1s",
                "a lease of 0 would expire credentials as they are issued",
            ));
        }
        if config.lease > config.lease_max {
            return Err(Error::input_hint(
                format!(
                    "lease ({}) is longer than lease_max ({})",
                    duration::format(config.lease),
                    duration::format(config.lease_max)
                ),
                "lease must be at most lease_max",
            ));
        }
        self.store.set_lease_config(&target.mount, &config)?;
        Ok(())
    }
}

pub(super) fn into_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("built from a json! object"),
    }
}

fn nonempty(name: &str, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::input(format!("parameter \"{name}\" is empty")));
    }
    Ok(value)
}

fn region(value: String) -> Result<String> {
    let value = nonempty("region", value)?;
    let ok = value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(Error::input_hint(
            format!("invalid region \"{value}\""),
            "a region looks like us-east-1",
        ));
    }
    Ok(value)
}

fn endpoint(name: &str, value: String) -> Result<Option<String>> {
    if value.is_empty() {
        return Ok(None);
    }
    let rest = value
        .strip_prefix("http://")
        .or_else(|| value.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(Some(value)),
        _ => Err(Error::input_hint(
            format!("invalid {name} \"{value}\""),
            "an endpoint is a URL such as http://127.0.0.1:5000 or https://iam.amazonaws.com",
        )),
    }
}
