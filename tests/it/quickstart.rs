//! The seed's quick start, verbatim but for `awscreds` in place of `vault` and the emulator's
//! endpoint given the standard AWS way (AWS_ENDPOINT_URL_IAM).

use crate::support::*;

#[test]
fn the_seeds_quick_start_gives_the_seeds_results() {
    let env = Env::new().with_var("AWS_ENDPOINT_URL_IAM", &endpoint());
    env.file("policy.json", SEED_POLICY);
    let iam = Iam::new();
    // IAM may hold users of an earlier run against the same emulator: look only at new ones.
    let before = iam.users_of_role("deploy");
    let new_users = || {
        let mut users = iam.users_of_role("deploy");
        users.retain(|u| !before.contains(u));
        users
    };

    env.run(["mount", "aws"])
        .ok()
        .stdout_is("Successfully mounted 'aws' at 'aws'!\n");

    env.run([
        "write",
        "aws/config/root",
        "access_key=AKIAJWVN5Z4FOFT7NLNA",
        "secret_key=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",
        "region=us-east-1",
    ])
    .ok()
    .stdout_is("Success! Data written to: aws/config/root\n");

    env.run([
        "write",
        "aws/roles/deploy",
        "name=deploy",
        "policy=@policy.json",
    ])
    .ok()
    .stdout_is("Success! Data written to: aws/roles/deploy\n");
    assert!(new_users().is_empty(), "a role alone creates no IAM user");

    let first = env.run(["read", "aws/creds/deploy"]).ok();
    assert_eq!(
        first.table_keys(),
        [
            "lease_id",
            "lease_duration",
            "lease_renewable",
            "access_key",
            "secret_key"
        ]
    );
    let first = first.table();
    assert!(
        first["lease_id"].starts_with("aws/creds/deploy/"),
        "{first:?}"
    );
    let uuid = first["lease_id"].trim_start_matches("aws/creds/deploy/");
    assert_eq!(uuid.len(), 36, "{first:?}");
    assert_eq!(first["lease_duration"], "3600");
    assert_eq!(first["lease_renewable"], "true");
    assert!(first["access_key"].starts_with("AKIA"), "{first:?}");
    assert_eq!(first["secret_key"].len(), 40, "{first:?}");

    // "If you run the command again, you will get a new set of credentials."
    let second = env.run(["read", "aws/creds/deploy"]).ok().table();
    assert_ne!(first["lease_id"], second["lease_id"]);
    assert_ne!(first["access_key"], second["access_key"]);
    assert_ne!(first["secret_key"], second["secret_key"]);

    // IAM holds exactly one user per lease, each with the role's policy and the printed key.
    let users = new_users();
    assert_eq!(users.len(), 2, "{users:#?}");
    let leases = env.leases();
    assert_eq!(leases.len(), 2);
    for lease in &leases {
        assert_eq!(lease.state, "active");
        let user = users
            .iter()
            .find(|u| u.name == lease.iam_user)
            .unwrap_or_else(|| panic!("no IAM user for {lease:?}"));
        assert_eq!(user.path, "/awscreds/");
        assert_eq!(user.keys, [lease.access_key_id.clone().unwrap()]);
        assert_eq!(
            user.policies.iter().collect::<Vec<_>>(),
            [(&"deploy".to_string(), &SEED_POLICY_COMPACT.to_string())]
        );
        assert_eq!(user.tags.get("awscreds:lease-id"), Some(&lease.id));
        assert!(user.name.len() <= 64);
    }
    let printed: Vec<&String> = vec![&first["access_key"], &second["access_key"]];
    for key in printed {
        assert!(
            users.iter().any(|u| u.keys.contains(key)),
            "{key} is in IAM"
        );
    }
    // Issued secret keys are never stored.
    for secret in [&first["secret_key"], &second["secret_key"]] {
        env.assert_no_secret_in_files(secret);
    }
}
