//! `roles/NAME`: what credentials a role's requests get, with Vault's parameters and checks.

use serde_json::{Map, Value};

use super::policy::check_policy;
use super::routes::Target;
use super::{Engine, Error, Result};
use crate::cloud::Connector;
use crate::model::{CredentialType, Role};
use crate::params::{list, map, named_duration, string as string_param};

/// The IAM path of the users awscreds creates when a role names none.
pub const DEFAULT_USER_PATH: &str = "/awscreds/";

impl<C: Connector> Engine<C> {
    pub(super) async fn read_role(&self, target: &Target, name: &str) -> Result<Role> {
        self.store
            .role(&target.mount, name)
            .await?
            .ok_or_else(|| Error::NotFound {
                path: target.path(),
            })
    }

    /// Creates the role or changes the parameters given, then checks the whole role.
    pub(super) async fn write_role(
        &self,
        target: &Target,
        name: &str,
        data: &Map<String, Value>,
    ) -> Result<()> {
        if let Some(given) = string_param(data, "name")?.filter(|given| given != name) {
            return Err(Error::input_hint(
                format!("name \"{given}\" does not match the path's role name \"{name}\""),
                format!(
                    "leave name= out, or write to {}/roles/{given}",
                    target.mount
                ),
            ));
        }
        let existing = self.store.role(&target.mount, name).await?;
        let role = apply(existing, name, data)?;
        validate(&role)?;
        // Before any user is made under it: tidy looks there even once the role is gone.
        if !role.user_path.is_empty() {
            self.store.record_user_path(&role.user_path).await?;
        }
        self.store.put_role(&target.mount, &role).await?;
        Ok(())
    }
}

/// The role that results from writing `data` over `existing`.
fn apply(existing: Option<Role>, name: &str, data: &Map<String, Value>) -> Result<Role> {
    let is_new = existing.is_none();
    let mut role = existing.unwrap_or_else(|| Role {
        name: name.to_string(),
        ..Role::default()
    });
    let legacy = data.contains_key("policy");
    if legacy && data.contains_key("policy_document") {
        return Err(Error::input_hint(
            "both policy and policy_document given",
            "policy is the seed's name for policy_document: give one",
        ));
    }
    match string_param(data, "credential_type")? {
        Some(text) => {
            role.credential_type = CredentialType::parse(&text).ok_or_else(|| {
                Error::input_hint(
                    format!("unrecognized credential type: {text}"),
                    "credential_type is iam_user, assumed_role, federation_token or session_token",
                )
            })?;
        }
        // The seed's way (policy= alone) makes an iam_user role, as it always did.
        None if is_new && !legacy => {
            return Err(Error::input_hint(
                "did not supply credential_type",
                "give credential_type=iam_user, assumed_role, federation_token or \
                 session_token (or the seed's policy=@policy.json for an iam_user role)",
            ));
        }
        None => {}
    }
    if let Some(text) = string_param(data, "policy")? {
        // The seed's parameter always carries a policy.
        role.policy_document = check_policy(&text)?;
    }
    if let Some(text) = string_param(data, "policy_document")? {
        role.policy_document = if text.trim().is_empty() {
            String::new() // unset
        } else {
            check_policy(&text)?
        };
    }
    if let Some(v) = data.get("policy_arns") {
        role.policy_arns = list("policy_arns", v)?;
    }
    if let Some(v) = data.get("iam_groups") {
        role.iam_groups = list("iam_groups", v)?;
    }
    if let Some(v) = data.get("role_arns") {
        role.role_arns = list("role_arns", v)?;
    }
    if let Some(v) = data.get("iam_tags") {
        role.iam_tags = map("iam_tags", v)?;
    }
    if let Some(v) = data.get("session_tags") {
        role.session_tags = map("session_tags", v)?;
    }
    if let Some(text) = string_param(data, "user_path")? {
        role.user_path = text;
    }
    if let Some(text) = string_param(data, "permissions_boundary_arn")? {
        role.permissions_boundary_arn = text;
    }
    if let Some(text) = string_param(data, "external_id")? {
        role.external_id = text;
    }
    if let Some(text) = string_param(data, "mfa_serial_number")? {
        role.mfa_serial_number = text;
    }
    if let Some(cap) = super::caps::max_leases(data)? {
        role.max_leases = cap;
    }
    for (key, slot) in [
        ("default_sts_ttl", &mut role.default_sts_ttl),
        ("max_sts_ttl", &mut role.max_sts_ttl),
    ] {
        if let Some(text) = string_param(data, key)? {
            *slot = if text.is_empty() {
                0
            } else {
                named_duration(key, &text)?
            };
        }
    }
    Ok(role)
}

/// Vault's checks: every parameter must make sense for the credential type.
pub fn validate(role: &Role) -> Result<()> {
    use CredentialType::*;
    let kind = role.credential_type;
    let only = |param: &str, set: bool, allowed: &[CredentialType]| -> Result<()> {
        if set && !allowed.contains(&kind) {
            let names: Vec<&str> = allowed.iter().map(|t| t.as_str()).collect();
            return Err(Error::input_hint(
                format!(
                    "{param} is not allowed with credential_type {}",
                    kind.as_str()
                ),
                format!("{param} applies to credential_type {}", names.join(" or ")),
            ));
        }
        Ok(())
    };
    only("role_arns", !role.role_arns.is_empty(), &[AssumedRole])?;
    only("user_path", !role.user_path.is_empty(), &[IamUser])?;
    only(
        "permissions_boundary_arn",
        !role.permissions_boundary_arn.is_empty(),
        &[IamUser],
    )?;
    only("iam_tags", !role.iam_tags.is_empty(), &[IamUser])?;
    only(
        "iam_groups",
        !role.iam_groups.is_empty(),
        &[IamUser, AssumedRole, FederationToken],
    )?;
    only(
        "policy_document",
        !role.policy_document.is_empty(),
        &[IamUser, AssumedRole, FederationToken],
    )?;
    only(
        "policy_arns",
        !role.policy_arns.is_empty(),
        &[IamUser, AssumedRole, FederationToken],
    )?;
    let sts = [AssumedRole, FederationToken, SessionToken];
    only("default_sts_ttl", role.default_sts_ttl > 0, &sts)?;
    only("max_sts_ttl", role.max_sts_ttl > 0, &sts)?;
    only(
        "session_tags",
        !role.session_tags.is_empty(),
        &[AssumedRole],
    )?;
    only("external_id", !role.external_id.is_empty(), &[AssumedRole])?;
    only(
        "mfa_serial_number",
        !role.mfa_serial_number.is_empty(),
        &[AssumedRole, SessionToken],
    )?;

    match kind {
        IamUser
            if role.policy_document.is_empty()
                && role.policy_arns.is_empty()
                && role.iam_groups.is_empty() =>
        {
            return Err(Error::input_hint(
                "an iam_user role needs at least one of policy_document, policy_arns or \
                 iam_groups",
                "e.g. policy_document=@policy.json",
            ));
        }
        FederationToken
            if role.policy_document.is_empty()
                && role.policy_arns.is_empty()
                && role.iam_groups.is_empty() =>
        {
            return Err(Error::input_hint(
                "must specify at least one of policy_arns, policy_document or iam_groups with \
                 federation_token credential_type",
                "federated users get the intersection of the root user's and these permissions",
            ));
        }
        AssumedRole if role.role_arns.is_empty() => {
            return Err(Error::input_hint(
                "an assumed_role role needs role_arns",
                "role_arns=arn:aws:iam::123456789012:role/deploy",
            ));
        }
        _ => {}
    }
    if role.default_sts_ttl > 0 && role.max_sts_ttl > 0 && role.default_sts_ttl > role.max_sts_ttl {
        return Err(Error::input_hint(
            "default_sts_ttl is longer than max_sts_ttl",
            "default_sts_ttl must be at most max_sts_ttl",
        ));
    }
    if !role.user_path.is_empty() && !valid_user_path(&role.user_path) {
        return Err(Error::input_hint(
            format!("invalid user_path \"{}\"", role.user_path),
            "a path is / or of the form /.../ (ASCII, at most 512 characters), e.g. /ci/",
        ));
    }
    if !role.permissions_boundary_arn.is_empty() && !is_policy_arn(&role.permissions_boundary_arn) {
        return Err(Error::input_hint(
            format!(
                "invalid permissions_boundary_arn \"{}\"",
                role.permissions_boundary_arn
            ),
            "a managed policy ARN, e.g. arn:aws:iam::123456789012:policy/boundary",
        ));
    }
    for arn in &role.policy_arns {
        if !is_policy_arn(arn) {
            return Err(Error::input_hint(
                format!("invalid policy ARN \"{arn}\" in policy_arns"),
                "e.g. arn:aws:iam::aws:policy/ReadOnlyAccess",
            ));
        }
    }
    for arn in &role.role_arns {
        if !is_arn(arn, "iam", "role/") {
            return Err(Error::input_hint(
                format!("invalid role ARN \"{arn}\" in role_arns"),
                "e.g. arn:aws:iam::123456789012:role/deploy",
            ));
        }
    }
    for group in &role.iam_groups {
        let ok = !group.is_empty()
            && group.len() <= 128
            && group
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
        if !ok {
            return Err(Error::input(format!(
                "invalid IAM group name \"{group}\" in iam_groups"
            )));
        }
    }
    // IAM holds at most 50 tags on a user, and awscreds adds its own to each user it creates; an
    // STS session takes at most 50 session tags.
    let own = super::issue::OWN_TAGS;
    for (param, tags, most, why) in [
        (
            "iam_tags",
            &role.iam_tags,
            MAX_TAGS - own,
            format!("IAM allows {MAX_TAGS} tags on a user and awscreds adds {own} of its own"),
        ),
        (
            "session_tags",
            &role.session_tags,
            MAX_TAGS,
            format!("STS allows {MAX_TAGS} session tags"),
        ),
    ] {
        if tags.len() > most {
            return Err(Error::input_hint(
                format!(
                    "{param} has {} tags, more than the {most} allowed",
                    tags.len()
                ),
                why,
            ));
        }
        for (key, value) in tags {
            if key.is_empty() || key.len() > 128 || value.len() > 256 {
                return Err(Error::input_hint(
                    format!("invalid tag \"{key}\" in {param}"),
                    "tag keys are 1 to 128 characters, values at most 256",
                ));
            }
            if key.to_ascii_lowercase().starts_with("aws:") || key.starts_with("awscreds:") {
                return Err(Error::input_hint(
                    format!("tag key \"{key}\" in {param} is reserved"),
                    "keys starting with aws: belong to AWS, awscreds: to awscreds",
                ));
            }
        }
    }
    Ok(())
}

/// The most tags IAM keeps on a user, and STS takes on a session.
const MAX_TAGS: usize = 50;

/// IAM paths: `/`, or `/` + printable ASCII + `/`, at most 512 characters (Vault's rule).
fn valid_user_path(path: &str) -> bool {
    path == "/"
        || (path.len() >= 2
            && path.len() <= 512
            && path.starts_with('/')
            && path.ends_with('/')
            && path.bytes().all(|b| (0x21..=0x7e).contains(&b)))
}

fn is_arn(arn: &str, service: &str, resource_prefix: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == service
        && (parts[4] == "aws"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && parts[5].len() > resource_prefix.len()
        && parts[5].starts_with(resource_prefix)
}

fn is_policy_arn(arn: &str) -> bool {
    is_arn(arn, "iam", "policy/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect()
    }

    fn role(pairs: &[(&str, &str)]) -> Result<Role> {
        let role = apply(None, "r", &data(pairs))?;
        validate(&role)?;
        Ok(role)
    }

    fn refused(pairs: &[(&str, &str)]) -> String {
        role(pairs).unwrap_err().to_string()
    }

    const P: &str = r#"{"Statement":[]}"#;

    #[test]
    fn the_seeds_policy_makes_an_iam_user_role() {
        let r = role(&[("policy", P)]).unwrap();
        assert_eq!(r.credential_type, CredentialType::IamUser);
        assert_eq!(r.policy_document, P);
        assert_eq!(
            refused(&[("policy_document", P)]),
            "did not supply credential_type"
        );
    }

    #[test]
    fn lists_and_maps_take_every_spelling() {
        let mut d = data(&[("credential_type", "iam_user"), ("iam_tags", "a=1, b=2")]);
        d.insert(
            "policy_arns".into(),
            Value::Array(vec![
                "arn:aws:iam::aws:policy/A,arn:aws:iam::aws:policy/B".into(),
                r#"["arn:aws:iam::123456789012:policy/C"]"#.into(),
            ]),
        );
        d.insert("iam_groups".into(), r#"["g1","g2"]"#.into());
        let r = apply(None, "r", &d).unwrap();
        validate(&r).unwrap();
        assert_eq!(r.policy_arns.len(), 3);
        assert_eq!(r.iam_groups, ["g1", "g2"]);
        assert_eq!(r.iam_tags.get("b").map(String::as_str), Some("2"));
        let r = role(&[
            ("credential_type", "assumed_role"),
            ("role_arns", "arn:aws:iam::123456789012:role/x"),
            ("session_tags", r#"{"k":"v"}"#),
        ])
        .unwrap();
        assert_eq!(r.session_tags.get("k").map(String::as_str), Some("v"));
    }

    #[test]
    fn invalid_combinations_say_which_parameter_and_why() {
        let iam = ("credential_type", "iam_user");
        let policy = ("policy_document", P);
        assert_eq!(
            refused(&[
                iam,
                policy,
                ("role_arns", "arn:aws:iam::123456789012:role/x")
            ]),
            "role_arns is not allowed with credential_type iam_user"
        );
        assert_eq!(
            refused(&[iam, policy, ("user_path", "/x")]),
            "invalid user_path \"/x\""
        );
        assert!(role(&[iam, policy, ("user_path", "/ci/team/")]).is_ok());
        assert_eq!(
            refused(&[iam, policy, ("default_sts_ttl", "1h")]),
            "default_sts_ttl is not allowed with credential_type iam_user"
        );
        let fed = ("credential_type", "federation_token");
        assert_eq!(
            refused(&[
                fed,
                policy,
                ("default_sts_ttl", "2h"),
                ("max_sts_ttl", "1h")
            ]),
            "default_sts_ttl is longer than max_sts_ttl"
        );
        assert!(refused(&[fed]).starts_with("must specify at least one of policy_arns"));
        assert_eq!(
            refused(&[("credential_type", "nope")]),
            "unrecognized credential type: nope"
        );
        assert!(refused(&[iam]).starts_with("an iam_user role needs"));
        assert_eq!(
            refused(&[("credential_type", "assumed_role")]),
            "an assumed_role role needs role_arns"
        );
        assert!(
            refused(&[iam, policy, ("permissions_boundary_arn", "nope")])
                .starts_with("invalid permissions_boundary_arn")
        );
        assert!(
            refused(&[iam, ("policy_arns", "arn:aws:s3:::bucket")])
                .starts_with("invalid policy ARN")
        );
        assert!(refused(&[iam, policy, ("iam_tags", "aws:x=1")]).contains("reserved"));
        let tags = |n: usize| {
            (0..n)
                .map(|i| format!("k{i}=v"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let (most, over) = (tags(47), tags(48));
        assert!(role(&[iam, policy, ("iam_tags", &most)]).is_ok());
        assert_eq!(
            refused(&[iam, policy, ("iam_tags", &over)]),
            "iam_tags has 48 tags, more than the 47 allowed"
        );
        let sts = ("credential_type", "assumed_role");
        let arns = ("role_arns", "arn:aws:iam::123456789012:role/x");
        assert!(role(&[sts, arns, ("session_tags", &tags(50))]).is_ok());
        assert_eq!(
            refused(&[sts, arns, ("session_tags", &tags(51))]),
            "session_tags has 51 tags, more than the 50 allowed"
        );
        assert!(
            refused(&[iam, policy, ("iam_tags", "novalue")]).starts_with("invalid iam_tags entry")
        );
        assert_eq!(
            refused(&[("credential_type", "session_token"), policy]),
            "policy_document is not allowed with credential_type session_token"
        );
    }

    #[test]
    fn user_paths_follow_vaults_rule() {
        assert!(valid_user_path("/"));
        assert!(valid_user_path(&format!("/{}/", "a".repeat(510))));
        assert!(!valid_user_path(&format!("/{}/", "a".repeat(511))));
        for bad in ["", "path/", "/path", "/pa th/", "/pä/"] {
            assert!(!valid_user_path(bad), "{bad}");
        }
    }
}
