//! The real Salesforce CLI (`sf`, from npm, on Node 22; scripts/test installs it in
//! .tools/) checks the External Client App sfcred writes, and makes the JWT logins
//! `sfcred import` moves over.

use std::path::{Path, PathBuf};

use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, app_keys};

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

/// `eca --jwt-tokens --jwt-timeout`: the fields JWT-based tokens need, at the API version
/// they need, through the real CLI's conversion; a timeout Salesforce does not offer is refused.
#[test]
fn the_salesforce_cli_converts_an_app_with_jwt_based_tokens() {
    let env = TestEnv::new();
    env.run(&["keygen", "-p", "prod", "--cert-out", "prod.crt"]).success();
    let eca =
        ["eca", "-p", "prod", "--name", "Sfcred_Jwt", "--contact-email", "ops@acme.test", "--jwt-tokens"];
    let refused = env.run(&[&eca[..], &["--jwt-timeout", "45m"]].concat()).failure(2);
    assert!(refused.stderr.contains("cannot live 45m: Salesforce offers 5m, 10m"), "{refused:?}");
    let too_short = env.run(&[&eca[..], &["--jwt-timeout", "1m"]].concat()).failure(2);
    assert!(too_short.stderr.contains("would have every call mint"), "{too_short:?}");
    assert!(!env.path("Sfcred_Jwt").exists(), "nothing written");
    env.run(&[&eca[..], &["--jwt-timeout", "2h"]].concat()).success();
    let project = env.path("Sfcred_Jwt");
    let json = std::fs::read_to_string(project.join("sfdx-project.json")).unwrap();
    assert!(json.contains("\"sourceApiVersion\": \"65.0\""), "{json}");
    sf(&env, &project, &["project", "convert", "source", "--source-dir", "force-app", "--output-dir", "out"])
        .success();
    let package = std::fs::read_to_string(project.join("out/package.xml")).unwrap();
    assert!(package.contains("<version>65.0</version>"), "{package}");
    let global =
        std::fs::read_to_string(project.join("out/extlClntAppGlobalOauthSets/Sfcred_Jwt.ecaGlblOauth"))
            .unwrap();
    assert!(global.contains("<isNamedUserJwtEnabled>true</isNamedUserJwtEnabled>"), "{global}");
    let policies =
        std::fs::read_to_string(project.join("out/extlClntAppOauthPolicies/Sfcred_Jwt.ecaOauthPlcy"))
            .unwrap();
    assert!(
        policies.contains("<namedUserJwtSessionTimeoutType>Custom</namedUserJwtSessionTimeoutType>"),
        "{policies}"
    );
    assert!(policies.contains("<namedUserJwtTimeout>120</namedUserJwtTimeout>"), "{policies}");
    let unpaired = env.run(&["eca", "-p", "prod", "--name", "X", "--jwt-timeout", "30m"]);
    assert_eq!(unpaired.code, 2, "{unpaired:?}");
    assert!(unpaired.stderr.contains("--jwt-tokens"), "the timeout needs the tokens: {unpaired:?}");
}

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

/// `sf org login jwt` against the stand-in, in the test's home, with `key` as its key file.
fn sf_login_jwt(env: &TestEnv, key: &Path, alias: &str) {
    let args = [
        "org",
        "login",
        "jwt",
        "--client-id",
        CONSUMER_KEY,
        "--jwt-key-file",
        key.to_str().unwrap(),
        "--username",
        USERNAME,
        "--instance-url",
        env.stand_in.url(),
        "--alias",
        alias,
    ];
    sf(env, env.home.path(), &args).success();
}

#[test]
fn a_salesforce_cli_jwt_login_moves_over_and_outlives_its_key_file() {
    let env = TestEnv::new();
    env.stand_in.serve_as_instance();
    let key = env.path("server.key");
    std::fs::write(&key, &app_keys().0).unwrap();
    sf_login_jwt(&env, &key, "myorg");
    let before = env.stand_in.token_requests();

    let run = env.run(&["import", "--from-sf", "myorg"]).success();
    assert!(run.stderr.contains("logged in profile \"myorg\" as ops@acme.test"), "{run:?}");
    assert_eq!(env.stand_in.token_requests() - before, 1, "checked with a live mint, like login");
    let settings = std::fs::read_to_string(env.path("config/sfcred/config.toml")).unwrap();
    assert!(settings.contains("[profiles.myorg]") && settings.contains(env.stand_in.url()), "{settings}");

    // The key now lives in the keychain: the file the CLI depends on can go.
    std::fs::remove_file(&key).unwrap();
    env.run(&["token", "-p", "myorg", "--refresh"]).success();
    // By username too, under another profile name.
    let run = env.run(&["import", "--from-sf", USERNAME, "--profile", "again"]).failure(2);
    assert!(run.stderr.contains("is gone") && run.stderr.contains("--key-file PATH"), "{run:?}");
    let key_file = env.key_file();
    env.run(&["import", "--from-sf", USERNAME, "--profile", "again", "--key-file", &key_file]).success();
}

#[test]
fn logins_the_cli_made_another_way_or_does_not_have_are_refused() {
    let env = TestEnv::new();
    let sfdx = env.path(".sfdx");
    std::fs::create_dir_all(&sfdx).unwrap();
    // What `sf org login web` keeps: a refresh token, no key.
    let web = r#"{"orgId":"00DSTANDIN000001EAY","username":"web@acme.test","accessToken":"7593c8:511e23","instanceUrl":"https://acme.my.salesforce.com","loginUrl":"https://login.salesforce.com","refreshToken":"41c789:52acf0","clientId":"PlatformCLI","isDevHub":false}"#;
    std::fs::write(sfdx.join("web@acme.test.json"), web).unwrap();
    std::fs::write(sfdx.join("alias.json"), r#"{"orgs":{"webby":"web@acme.test"}}"#).unwrap();
    let run = env.run(&["import", "--from-sf", "webby"]).failure(2);
    assert!(run.stderr.contains("through a browser") && run.stderr.contains("not with a JWT key"), "{run:?}");
    let run = env.run(&["import", "--from-sf", "nobody"]).failure(3);
    assert!(run.stderr.contains("the CLI knows: web@acme.test, webby"), "{run:?}");
}
