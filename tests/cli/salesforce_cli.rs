//! The real Salesforce CLI (`sf`, from npm, on Node 22; scripts/test installs it in
//! .tools/) checks the External Client App sfcred writes, and makes the JWT logins
//! `sfcred import` moves over.

use std::path::{Path, PathBuf};

use crate::support::{Run, TIMEOUT, TestEnv, WaitWithin};

fn sf_cli() -> PathBuf {
    let sf = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/sf");
    assert!(sf.exists(), "{} is missing: scripts/test installs the Salesforce CLI", sf.display());
    sf
}

fn sf(env: &TestEnv, dir: &Path, args: &[&str]) -> Run {
    Run::of(env.command(sf_cli()).current_dir(dir).args(args).output_within(TIMEOUT).unwrap())
}

const TYPES: [&str; 5] = [
    "ExternalClientApplication",
    "ExtlClntAppOauthSettings",
    "ExtlClntAppGlobalOauthSettings",
    "ExtlClntAppOauthConfigurablePolicies",
    "ExtlClntAppConfigurablePolicies",
];

#[test]
fn the_salesforce_cli_converts_the_external_client_app() {
    let env = TestEnv::new();
    env.run(&["keygen", "-p", "prod", "--cert-out", "prod.crt"]).success();
    let run = env
        .run(&[
            "eca",
            "-p",
            "prod",
            "--name",
            "Sfcred_Prod",
            "--contact-email",
            "ops@acme.test",
            "--scopes",
            "refresh_token",
        ])
        .success();
    assert!(
        run.stderr
            .contains("cd Sfcred_Prod && sf project deploy start --source-dir force-app --target-org ADMIN"),
        "{run:?}"
    );
    let project = env.path("Sfcred_Prod");
    sf(&env, &project, &["project", "convert", "source", "--source-dir", "force-app", "--output-dir", "out"])
        .success();
    let package = std::fs::read_to_string(project.join("out/package.xml")).unwrap();
    for kind in TYPES {
        assert!(
            package.contains(&format!("<name>{kind}</name>")),
            "{kind} missing from package.xml:\n{package}"
        );
    }
    let certificate = std::fs::read_to_string(env.path("prod.crt")).unwrap();
    let body = certificate.lines().nth(1).unwrap();
    let converted =
        std::fs::read_to_string(project.join("out/extlClntAppGlobalOauthSets/Sfcred_Prod.ecaGlblOauth"))
            .unwrap();
    assert!(converted.contains(body), "the certificate survives the conversion:\n{converted}");
    let oauth =
        std::fs::read_to_string(project.join("out/extlClntAppOauthSettings/Sfcred_Prod.ecaOauth")).unwrap();
    assert!(
        oauth.contains("<commaSeparatedOauthScopes>Api, RefreshToken</commaSeparatedOauthScopes>"),
        "{oauth}"
    );
}

#[test]
fn an_existing_project_gets_the_app_in_its_package_directory() {
    let env = TestEnv::new();
    env.run(&["keygen", "-p", "prod", "--cert-out", "prod.crt"]).success();
    let project = env.path("mine");
    std::fs::create_dir_all(&project).unwrap();
    let json = r#"{"packageDirectories":[{"path":"src","default":true}],"sourceApiVersion":"62.0"}"#;
    std::fs::write(project.join("sfdx-project.json"), json).unwrap();
    let out = project.to_str().unwrap();
    env.run(&["eca", "-p", "prod", "--name", "Mine", "--out", out, "--contact-email", "a@b.test"]).success();
    assert_eq!(std::fs::read_to_string(project.join("sfdx-project.json")).unwrap(), json, "left as it was");
    assert!(project.join("src/main/default/externalClientApps/Mine.eca-meta.xml").exists());
    env.run(&["eca", "-p", "prod", "--name", "Mine", "--out", out, "--contact-email", "a@b.test"]).failure(2);
    sf(&env, &project, &["project", "convert", "source", "--source-dir", "src", "--output-dir", "out"])
        .success();
    assert!(project.join("out/externalClientApps/Mine.eca").exists());
}

#[test]
fn eca_without_a_certificate_says_how_to_get_one() {
    let env = TestEnv::new();
    let run = env.run(&["eca", "-p", "nothing", "--name", "X", "--contact-email", "a@b.test"]).failure(3);
    assert!(run.stderr.contains("sfcred keygen --profile nothing"), "{run:?}");
    let run = env.run(&["eca", "-p", "p", "--name", "bad name"]).failure(2);
    assert!(run.stderr.contains("is not an API name"), "{run:?}");
}
