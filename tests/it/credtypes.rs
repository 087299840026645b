//! Every credential type and role option of the modern engine, against the emulator: what IAM
//! holds after issuing (path, tags, groups, managed and inline policies), what STS credentials
//! can do (GetCallerIdentity), and that revoking leaves nothing behind.

use crate::support::*;

const DOC: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

/// Creates a customer-managed policy and returns its ARN.
fn managed_policy(iam: &Iam, name: &str) -> String {
    iam.call(|c| {
        let (c, name) = (c.clone(), name.to_string());
        async move {
            let out = c
                .create_policy()
                .policy_name(name)
                .policy_document(DOC)
                .send()
                .await
                .unwrap();
            out.policy().unwrap().arn().unwrap().to_string()
        }
    })
}

fn group(iam: &Iam, name: &str) {
    iam.call(|c| {
        let (c, name) = (c.clone(), name.to_string());
        async move {
            c.create_group().group_name(name).send().await.unwrap();
        }
    });
}

/// Creates an IAM role that anyone may assume and returns its ARN.
fn assumable_role(iam: &Iam, name: &str) -> String {
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    iam.call(|c| {
        let (c, name) = (c.clone(), name.to_string());
        async move {
            let out = c
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust)
                .send()
                .await
                .unwrap();
            out.role().unwrap().arn().to_string()
        }
    })
}

/// (managed policy ARNs, group names) of a user.
fn managed_and_groups(iam: &Iam, user: &str) -> (Vec<String>, Vec<String>) {
    iam.call(|c| {
        let (c, user) = (c.clone(), user.to_string());
        async move {
            let policies = c
                .list_attached_user_policies()
                .user_name(&user)
                .send()
                .await
                .unwrap();
            let groups = c
                .list_groups_for_user()
                .user_name(&user)
                .send()
                .await
                .unwrap();
            (
                policies
                    .attached_policies()
                    .iter()
                    .map(|p| p.policy_arn().unwrap().to_string())
                    .collect(),
                groups
                    .groups()
                    .iter()
                    .map(|g| g.group_name().to_string())
                    .collect(),
            )
        }
    })
}

fn group_members(iam: &Iam, group: &str) -> Vec<String> {
    iam.call(|c| {
        let (c, group) = (c.clone(), group.to_string());
        async move {
            let out = c.get_group().group_name(group).send().await.unwrap();
            out.users()
                .iter()
                .map(|u| u.user_name().to_string())
                .collect()
        }
    })
}

#[test]
fn an_iam_user_role_with_every_option() {
    let env = Env::configured();
    let iam = Iam::new();
    let arn_a = managed_policy(&iam, "ct_full_a");
    let arn_b = managed_policy(&iam, "ct_full_b");
    group(&iam, "ct_full_g1");
    group(&iam, "ct_full_g2");
    let doc = env.file("doc.json", DOC);
    env.run([
        "write",
        "aws/roles/ct_full",
        "credential_type=iam_user",
        &format!("policy_document=@{doc}"),
        &format!("policy_arns={arn_a},{arn_b}"),
        "iam_groups=ct_full_g1",
        "iam_groups=ct_full_g2",
        "iam_tags=team=ci,env=dev",
        "user_path=/ct/team/",
        &format!("permissions_boundary_arn={arn_a}"),
    ])
    .ok();
    let role = env
        .run(["read", "aws/roles/ct_full", "-format=json"])
        .ok()
        .json();
    let data = &role["data"];
    assert_eq!(data["credential_type"], "iam_user");
    assert_eq!(data["policy_arns"], serde_json::json!([arn_a, arn_b]));
    assert_eq!(
        data["iam_groups"],
        serde_json::json!(["ct_full_g1", "ct_full_g2"])
    );
    assert_eq!(
        data["iam_tags"],
        serde_json::json!({"env": "dev", "team": "ci"})
    );
    assert_eq!(data["user_path"], "/ct/team/");
    assert_eq!(data["permissions_boundary_arn"], arn_a.as_str());
    assert_eq!(data["role_arns"], serde_json::json!([]));
    assert_eq!(data["default_sts_ttl"], 0);

    let (id, key) = env.issue("aws/creds/ct_full");
    let users = iam.users_of_role("ct_full");
    assert_eq!(users.len(), 1);
    let user = &users[0];
    assert_eq!(user.path, "/ct/team/");
    assert_eq!(user.keys, [key]);
    assert_eq!(user.policies.keys().collect::<Vec<_>>(), ["ct_full"]);
    assert_eq!(user.tags.get("team").map(String::as_str), Some("ci"));
    assert_eq!(user.tags.get("env").map(String::as_str), Some("dev"));
    assert_eq!(user.tags.get("awscreds:lease-id"), Some(&id));
    let (mut managed, mut groups) = managed_and_groups(&iam, &user.name);
    managed.sort();
    groups.sort();
    let mut want = vec![arn_a.clone(), arn_b.clone()];
    want.sort();
    assert_eq!(managed, want);
    assert_eq!(groups, ["ct_full_g1", "ct_full_g2"]);

    // Revoking removes exactly what was attached, and the user.
    env.run(["lease", "revoke", &id]).ok();
    assert!(iam.user(&user.name).is_none());
    assert!(group_members(&iam, "ct_full_g1").is_empty());
    assert!(env.leases().is_empty());
}

#[test]
fn an_iam_user_role_with_managed_policies_only() {
    let env = Env::configured();
    let iam = Iam::new();
    let arn = managed_policy(&iam, "ct_managed_only");
    env.run([
        "write",
        "aws/roles/ct_managed",
        "credential_type=iam_user",
        &format!("policy_arns=[\"{arn}\"]"),
    ])
    .ok();
    let (id, _) = env.issue("aws/creds/ct_managed");
    let user = iam.users_of_role("ct_managed").remove(0);
    assert!(user.policies.is_empty(), "no inline policy");
    assert_eq!(managed_and_groups(&iam, &user.name).0, [arn]);
    env.run(["lease", "revoke", &id]).ok();
    assert!(iam.user(&user.name).is_none());
}

#[test]
fn iam_user_requests_refuse_sts_parameters() {
    let env = Env::configured();
    env.role("aws/roles/ct_nottl");
    env.run(["read", "aws/creds/ct_nottl", "ttl=15m"])
        .fails(1)
        .one_line_error("ttl does not apply to iam_user credentials");
    env.run(["read", "aws/sts/ct_nottl"])
        .fails(1)
        .one_line_error("role \"ct_nottl\" is an iam_user role; sts/ is for STS credential types");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("ct_nottl").is_empty());
}

#[test]
fn assumed_role_credentials_work_as_the_role() {
    let env = Env::configured();
    let iam = Iam::new();
    let role_arn = assumable_role(&iam, "ct-assumed-target");
    env.run([
        "write",
        "aws/roles/ct_assumed",
        "credential_type=assumed_role",
        &format!("role_arns={role_arn}"),
        "default_sts_ttl=30m",
        "max_sts_ttl=1h",
        "session_tags=team=ci",
        "external_id=ext-1",
    ])
    .ok();
    let run = env.run(["read", "aws/sts/ct_assumed", "-format=json"]).ok();
    let out = run.json();
    assert_eq!(out["lease_duration"], 1800);
    assert_eq!(out["renewable"], false);
    assert!(
        out["lease_id"]
            .as_str()
            .unwrap()
            .starts_with("aws/sts/ct_assumed/")
    );
    let data = &out["data"];
    for key in [
        "access_key",
        "secret_key",
        "session_token",
        "arn",
        "expiration",
        "ttl",
    ] {
        assert!(data.get(key).is_some(), "{key} missing: {out}");
    }
    let arn = caller_arn(
        &endpoint(),
        data["access_key"].as_str().unwrap(),
        data["secret_key"].as_str().unwrap(),
        data["session_token"].as_str(),
    )
    .unwrap();
    assert!(arn.contains(":assumed-role/ct-assumed-target/"), "{arn}");
    assert_eq!(data["arn"].as_str().unwrap(), arn);

    // A chosen session name and TTL; a TTL past max_sts_ttl is capped with a warning.
    let run = env
        .run([
            "read",
            "aws/creds/ct_assumed",
            "role_session_name=ci-job-7",
            "ttl=2h",
            "-format=json",
        ])
        .ok()
        .stderr_has("capped");
    let out = run.json();
    assert_eq!(out["lease_duration"], 3600);
    assert!(
        out["data"]["arn"].as_str().unwrap().ends_with("/ci-job-7"),
        "{out}"
    );
    env.run(["read", "aws/creds/ct_assumed", "ttl=5m"])
        .fails(1)
        .one_line_error("ttl 5m is shorter than STS allows");
    env.run(["read", "aws/creds/ct_assumed", "role_arn=arn:aws:iam::123456789012:role/other"])
        .fails(1)
        .one_line_error(
            "role_arn \"arn:aws:iam::123456789012:role/other\" not in allowed role arns for role \"ct_assumed\"",
        );

    // Recorded, not renewable, and revoking says plainly that it cannot recall them.
    let leases = env.leases();
    assert_eq!(leases.len(), 2);
    let id = &leases[0].id;
    env.run(["lease", "renew", id])
        .fails(1)
        .one_line_error(&format!("lease {id} is not renewable"));
    env.run(["lease", "revoke", id])
        .ok()
        .stdout_has("cannot be recalled at AWS and stay valid until");
    assert_eq!(env.leases().len(), 1);
    assert!(
        iam.users_of_role("ct_assumed").is_empty(),
        "no IAM user for STS credentials"
    );
}

#[test]
fn an_assumed_role_role_with_several_arns_needs_role_arn() {
    let env = Env::configured();
    let iam = Iam::new();
    let a = assumable_role(&iam, "ct-multi-a");
    let b = assumable_role(&iam, "ct-multi-b");
    env.run([
        "write",
        "aws/roles/ct_multi",
        "credential_type=assumed_role",
        &format!("role_arns={a},{b}"),
    ])
    .ok();
    env.run(["read", "aws/creds/ct_multi"])
        .fails(1)
        .one_line_error("did not supply a role_arn parameter and unable to determine one");
    let out = env
        .run([
            "write",
            "aws/creds/ct_multi",
            &format!("role_arn={b}"),
            "-format=json",
        ])
        .ok()
        .json();
    assert!(
        out["data"]["arn"]
            .as_str()
            .unwrap()
            .contains(":assumed-role/ct-multi-b/")
    );
}

#[test]
fn federation_token_and_session_token_credentials() {
    let env = Env::configured();
    let doc = env.file("doc.json", DOC);
    env.run([
        "write",
        "aws/roles/ct_fed",
        "credential_type=federation_token",
        &format!("policy_document=@{doc}"),
    ])
    .ok();
    let out = env
        .run(["read", "aws/sts/ct_fed", "ttl=20m", "-format=json"])
        .ok()
        .json();
    assert_eq!(out["lease_duration"], 1200);
    for key in ["access_key", "secret_key", "session_token", "expiration"] {
        assert!(
            !out["data"][key].as_str().unwrap().is_empty(),
            "{key}: {out}"
        );
    }
    assert!(
        caller_arn(
            &endpoint(),
            out["data"]["access_key"].as_str().unwrap(),
            out["data"]["secret_key"].as_str().unwrap(),
            out["data"]["session_token"].as_str()
        )
        .is_ok()
    );

    env.run([
        "write",
        "aws/roles/ct_session",
        "credential_type=session_token",
        "mfa_serial_number=arn:aws:iam::123456789012:mfa/ci",
    ])
    .ok();
    env.run(["read", "aws/creds/ct_session"])
        .fails(1)
        .one_line_error("mfa_code is required: role \"ct_session\" has an MFA device");
    let out = env
        .run([
            "read",
            "aws/creds/ct_session",
            "mfa_code=123456",
            "-format=json",
        ])
        .ok()
        .json();
    assert!(!out["data"]["session_token"].as_str().unwrap().is_empty());
    assert!(
        out["data"].get("arn").is_none(),
        "GetSessionToken has no ARN: {out}"
    );
    assert_eq!(env.leases().len(), 2);
    assert!(env.leases().iter().all(|l| l.state == "active"));
}

#[test]
fn expired_sts_leases_are_swept_without_calling_aws() {
    let env = Env::configured();
    let iam = Iam::new();
    let arn = assumable_role(&iam, "ct-sweep-target");
    env.run([
        "write",
        "aws/roles/ct_stssweep",
        "credential_type=assumed_role",
        &format!("role_arns={arn}"),
    ])
    .ok();
    env.issue("aws/creds/ct_stssweep");
    // AWS becomes unreachable, and the lease expires.
    env.run([
        "write",
        "aws/config/root",
        &format!("iam_endpoint={}", dead_endpoint()),
        &format!("sts_endpoint={}", dead_endpoint()),
    ])
    .ok();
    let state = env.state();
    for lease in state.leases() {
        state.change_lease(&lease.id, |l| {
            l.expires_at = 0;
            l.due_at = 0;
        });
    }
    env.run(["sweep"])
        .ok()
        .stdout_is("Swept expired leases: 1 revoked, 0 failed\n");
    assert!(env.leases().is_empty());
}

#[test]
fn the_groups_of_an_sts_role_lend_it_their_policies() {
    // As in Vault: for assumed_role and federation_token, iam_groups' inline and managed
    // policies are merged into the request. The emulator reads the groups for real.
    let env = Env::configured();
    let iam = Iam::new();
    group(&iam, "ct_stsgroup");
    let arn = managed_policy(&iam, "ct_stsgroup_managed");
    iam.call(|c| {
        let (c, arn) = (c.clone(), arn.clone());
        async move {
            c.put_group_policy()
                .group_name("ct_stsgroup")
                .policy_name("inline")
                .policy_document(DOC)
                .send()
                .await
                .unwrap();
            c.attach_group_policy()
                .group_name("ct_stsgroup")
                .policy_arn(arn)
                .send()
                .await
                .unwrap();
        }
    });
    env.run([
        "write",
        "aws/roles/ct_fedgroup",
        "credential_type=federation_token",
        "iam_groups=ct_stsgroup",
    ])
    .ok();
    let out = env
        .run(["read", "aws/sts/ct_fedgroup", "-format=json"])
        .ok()
        .json();
    assert!(!out["data"]["session_token"].as_str().unwrap().is_empty());
    // A group that does not exist is an AWS error, and nothing is recorded.
    env.run([
        "write",
        "aws/roles/ct_fedgroup",
        "iam_groups=ct_nosuchgroup",
    ])
    .ok();
    env.run(["read", "aws/sts/ct_fedgroup"])
        .fails(2)
        .stderr_has("error: reading the policies of IAM group ct_nosuchgroup: NoSuchEntity");
    assert_eq!(env.leases().len(), 1);
}

#[test]
fn unmount_forgets_sts_leases_too() {
    // Regression: unmount claimed only creds/ leases, so a lease read at sts/ blocked it.
    let env = Env::configured();
    let arn = assumable_role(&Iam::new(), "ct-unmount-target");
    env.run([
        "write",
        "aws/roles/ct_unmount",
        "credential_type=assumed_role",
        &format!("role_arns={arn}"),
    ])
    .ok();
    env.issue("aws/sts/ct_unmount");
    env.run(["unmount", "aws"])
        .ok()
        .stdout_is("Successfully unmounted 'aws' (1 leases revoked)\n");
    assert!(env.leases().is_empty());
}

#[test]
fn a_field_the_credential_type_does_not_return_issues_nothing() {
    // Regression: --field session_token on an iam_user role issued a user nobody would see.
    let env = Env::configured();
    env.role("aws/roles/ct_fieldtype");
    env.run(["read", "aws/creds/ct_fieldtype", "-field=session_token"])
        .fails(1)
        .one_line_error("Field \"session_token\" not present in secret");
    assert!(env.leases().is_empty());
    assert!(Iam::new().users_of_role("ct_fieldtype").is_empty());
}
