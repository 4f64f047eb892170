//! Defects found by hostile use and a security reading, third round (issue 18): each item
//! with the test that failed before its fix (item 2's is `defects::messages_are_safe_to_print`).

use crate::support::{
    CONSUMER_KEY, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, app_keys, mkfifo, sfcred_exe,
};

#[test]
fn a_key_file_that_is_a_fifo_no_one_writes_to_fails_at_once() {
    let env = TestEnv::new();
    let fifo = env.path("key.fifo");
    mkfifo(&fifo);
    let run = env.login_with("prod", &[("--key-file", fifo.to_str().unwrap())]).failure(2);
    assert!(run.stderr.contains("it is a FIFO, and nothing was written to it"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 0);
    // A pipe with a writer is still a key file: process substitution.
    let key = env.key_file();
    let args: Vec<String> = env.login_args_with("prod", &[("--key-file", "KEY")]).into_iter().collect();
    let script = format!(
        "exec \"$0\" {} ",
        args.iter()
            .map(|a| if a == "KEY" { format!("<(cat '{key}')") } else { format!("'{a}'") })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = env.command("bash").arg("-c").arg(script).arg(sfcred_exe()).output_within(TIMEOUT).unwrap();
    Run::of(out).success();
}

#[test]
fn plain_http_to_loopback_never_goes_through_a_proxy() {
    let env = TestEnv::new();
    // A proxy that refuses everything: a request sent there fails.
    let proxy = "http://127.0.0.1:9";
    let with_proxies = |args: &[String]| {
        let mut cmd = env.sfcred();
        cmd.args(args);
        for var in ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy"] {
            cmd.env(var, proxy);
        }
        Run::of(cmd.output_within(TIMEOUT).unwrap())
    };
    with_proxies(&env.login_args("prod")).success();
    with_proxies(&["logout".into(), "-p".into(), "prod".into()]).success();
    assert_eq!(env.stand_in.token_requests(), 1, "the login's check reached the stand-in");
    assert_eq!(env.stand_in.revocations(), 1, "so did the logout's revocation");
}

#[test]
fn exec_hands_the_child_the_token_not_the_secrets_that_made_it() {
    let env = TestEnv::new();
    let out = env
        .sfcred()
        .args(["exec", "--", "env"])
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .env("SFCRED_PRIVATE_KEY", &app_keys().0)
        .env("SFCRED_PKCS11_PIN", "80417236")
        .env("SFCRED_LOGIN_URL", env.stand_in.url())
        // A fleet's Redis that does not answer: a warning, and the token all the same.
        .env("SFCRED_CACHE_URL", "redis://:redis-pw-77@127.0.0.1:1")
        .env("SFCRED_CACHE_KEY", "kOJOZz1x0Gq2b3Y8oK7b3q5b8n3m9F1pQ2r4S6t8V0w=")
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).success();
    assert!(run.stdout.contains("SF_ACCESS_TOKEN=00DSTANDIN"), "{run:?}");
    for secret in [
        "SFCRED_PRIVATE_KEY=",
        "SFCRED_PKCS11_PIN=",
        "BEGIN PRIVATE KEY",
        "SFCRED_CACHE_URL=",
        "redis-pw-77",
        "SFCRED_CACHE_KEY=",
        "kOJOZz1x0Gq2b3Y8",
    ] {
        assert!(!run.stdout.contains(secret), "the child sees {secret}");
    }
    // The profile's identity stays: an sfcred in the child is served the same cached token.
    assert!(run.stdout.contains(&format!("SFCRED_USERNAME={USERNAME}")), "{run:?}");
    assert!(run.stdout.contains(&format!("SFCRED_CLIENT_ID={CONSUMER_KEY}")), "{run:?}");
    let nested = env
        .sfcred()
        .args(["exec", "--"])
        .arg(sfcred_exe())
        .args(["token", "--format", "token"])
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .env("SFCRED_PRIVATE_KEY", &app_keys().0)
        .env("SFCRED_LOGIN_URL", env.stand_in.url())
        .output_within(TIMEOUT)
        .unwrap();
    assert!(Run::of(nested).success().stdout.starts_with("00DSTANDIN"));
    assert_eq!(env.stand_in.token_requests(), 1, "the nested sfcred was served the cached token");
}

#[test]
fn a_name_no_profile_can_have_is_called_invalid() {
    let env = TestEnv::new();
    let run = env.run(&["token", "-p", "../x"]).failure(2);
    assert!(run.stderr.contains("profile name") && !run.stderr.contains("login --profile ../x"), "{run:?}");
    let answer = env.run_with_stdin(&["credential"], br#"{"profile":"../x"}"#).json();
    assert_eq!(answer["error"]["kind"], "bad_request", "{answer}");
    assert!(!answer.to_string().contains("login --profile ../x"), "{answer}");
}

#[test]
fn a_revocation_s_failure_is_called_one_and_its_200_is_a_success() {
    let env = TestEnv::new();
    env.login("prod").success();
    let refusal =
        r#"{"error":"unsupported_token_type","error_description":"this token type is not supported"}"#;
    env.stand_in.answer_revocations_with(400, refusal);
    let run = env.run(&["invalidate", "-p", "prod", "--revoke"]).success();
    assert!(run.stderr.contains("refused to revoke"), "{run:?}");
    assert!(!run.stderr.contains("token request") && !run.stderr.contains("not a token"), "{run:?}");

    env.login("prod").success();
    env.stand_in.answer_revocations_with(503, "<html>busy</html>");
    let run = env.run(&["logout", "-p", "prod"]).success();
    assert!(run.stderr.contains("answered the revocation with HTTP 503"), "{run:?}");

    // Salesforce's answer is its status: a 200 with a body past sfcred's limit is a revocation.
    env.login("prod").success();
    env.stand_in.answer_revocations_with(200, &"x".repeat(2 << 20));
    let run = env.run(&["logout", "-p", "prod"]).success();
    assert!(!run.stderr.contains("could not revoke"), "{run:?}");
}

#[test]
fn rotate_status_prints_plain_values() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.run(&["rotate", "start", "-p", "prod"]).success();
    let certificate = std::fs::read_to_string(env.path("prod.next.crt")).unwrap();
    env.stand_in.upload_certificate(crate::support::CONSUMER_KEY, &certificate).unwrap();
    env.run(&["rotate", "finish", "-p", "prod"]).success();
    let status = env.run(&["rotate", "status", "-p", "prod"]).success().stdout;
    assert!(status.contains("Salesforce last accepted the current key at 20"), "{status}");
    assert!(!status.contains("the \"current\""), "{status}");
}

#[test]
fn keygen_key_out_with_force_never_writes_into_a_readable_file_or_a_link_s_target() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let env = TestEnv::new();
    let open_file = env.path("open.pem");
    std::fs::write(&open_file, "old").unwrap();
    std::fs::set_permissions(&open_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let target = env.path("elsewhere.txt");
    std::fs::write(&target, "someone else's").unwrap();
    let link = env.path("link.pem");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for (profile, key_out) in [("a", &open_file), ("b", &link)] {
        let cert = env.path(&format!("{profile}.crt"));
        let args = ["keygen", "-p", profile, "--force", "--key-out", key_out.to_str().unwrap()];
        env.run(&[&args[..], &["--cert-out", cert.to_str().unwrap()]].concat()).success();
        let meta = std::fs::symlink_metadata(key_out).unwrap();
        assert!(meta.is_file(), "{profile}: a file of its own, not a link");
        assert_eq!(meta.mode() & 0o777, 0o600, "{profile}");
        assert!(std::fs::read_to_string(key_out).unwrap().contains("PRIVATE KEY"));
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "someone else's");
}

#[test]
fn a_settings_file_that_is_a_link_is_written_through() {
    let env = TestEnv::new();
    let dotfiles = env.path("dotfiles");
    std::fs::create_dir(&dotfiles).unwrap();
    std::fs::write(dotfiles.join("sfcred.toml"), "").unwrap();
    std::fs::create_dir_all(env.path("config/sfcred")).unwrap();
    let link = env.path("config/sfcred/config.toml");
    std::os::unix::fs::symlink(dotfiles.join("sfcred.toml"), &link).unwrap();
    env.login("prod").success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link stays");
    let written = std::fs::read_to_string(dotfiles.join("sfcred.toml")).unwrap();
    assert!(written.contains("[profiles.prod]"), "{written}");
    env.run(&["token", "-p", "prod"]).success();
}

/// The soft core-file limit of process `pid`, from /proc.
fn core_limit(pid: u32) -> Option<String> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max core file size"))?;
    line.split_whitespace().nth(4).map(str::to_owned)
}

#[test]
fn a_crash_dumps_no_core_and_exec_s_command_keeps_its_own_limit() {
    let env = TestEnv::new();
    let bin = sfcred_exe();
    // sfcred waits for its request on stdin, started with a soft limit of 1024 blocks.
    let mut waiting = env
        .command("sh")
        .args(["-c", "ulimit -S -c 1024 && exec \"$0\" credential"])
        .arg(&bin)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let pid = waiting.id();
    // Until sfcred itself runs (first sh, then the exec), the limit is sh's, and before sh's
    // ulimit it is the one inherited, which may be 0 already: wait for the exec first.
    let exe = std::fs::canonicalize(&bin).unwrap();
    while std::fs::read_link(format!("/proc/{pid}/exe")).ok().as_ref() != Some(&exe) {
        assert!(std::time::Instant::now() < deadline, "sfcred never started");
        std::thread::yield_now();
    }
    while core_limit(pid).as_deref() != Some("0") {
        assert!(std::time::Instant::now() < deadline, "sfcred kept a core limit of {:?}", core_limit(pid));
        std::thread::yield_now();
    }
    drop(waiting.stdin.take());
    waiting.wait_within(TIMEOUT).unwrap();

    env.login("prod").success();
    let out = env
        .command("sh")
        .args(["-c", "ulimit -S -c 1024 && exec \"$0\" exec -p prod -- sh -c 'ulimit -S -c'"])
        .arg(&bin)
        .output_within(TIMEOUT)
        .unwrap();
    assert_eq!(Run::of(out).success().stdout.trim(), "1024", "exec's command gets the limit back");
}

#[test]
fn two_apps_of_one_user_on_one_runner_never_share_a_token() {
    let env = TestEnv::new();
    env.stand_in.add_app(other_app()).unwrap();
    let token = |consumer_key: &str| {
        let out = env
            .sfcred()
            .args(["token", "--format", "token"])
            .env("SFCRED_CLIENT_ID", consumer_key)
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_PRIVATE_KEY", &app_keys().0)
            .env("SFCRED_LOGIN_URL", env.stand_in.url())
            .output_within(TIMEOUT)
            .unwrap();
        Run::of(out).success().stdout
    };
    let first = token(CONSUMER_KEY);
    let other = token("3MVG9OTHERAPP");
    assert_ne!(first, other, "the other app's job got the first app's token");
    assert_eq!(token(CONSUMER_KEY), first, "each app's token is cached for it");
    assert_eq!(env.stand_in.token_requests(), 2);
    assert!(env.files_containing(b"3MVG9OTHERAPP").is_empty(), "the consumer key is in no file");
}

#[test]
fn a_cached_token_is_served_only_to_the_user_login_url_and_app_it_was_minted_for() {
    let env = TestEnv::new();
    env.stand_in.add_app(other_app()).unwrap();
    let job = |consumer_key: &str| {
        let mut cmd = env.sfcred();
        cmd.args(["token", "--format", "json"])
            .env("SFCRED_CLIENT_ID", consumer_key)
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_PRIVATE_KEY", &app_keys().0)
            .env("SFCRED_LOGIN_URL", env.stand_in.url());
        let token: serde_json::Value =
            serde_json::from_str(&Run::of(cmd.output_within(TIMEOUT).unwrap()).success().stdout).unwrap();
        token
    };
    let first = job(CONSUMER_KEY);
    let other = job("3MVG9OTHERAPP");
    // The other app's entry planted under the first one's name, its profile rewritten: only
    // the consumer key's digest tells them apart.
    let (first_profile, other_profile) =
        (first["profile"].as_str().unwrap(), other["profile"].as_str().unwrap());
    let mut planted = env.cache_entry(other_profile);
    planted["profile"] = first_profile.into();
    env.set_cache_entry(first_profile, &planted);
    let again = job(CONSUMER_KEY);
    assert_ne!(again["access_token"], other["access_token"], "served another app's token");
    assert_eq!(env.stand_in.token_requests(), 3);

    // A saved profile whose settings now name another user is not served the old user's token.
    env.login("prod").success();
    env.edit_settings(|text| {
        text.replace(&format!("username = \"{USERNAME}\""), "username = \"other@acme.com\"")
    });
    let run = env.run(&["token", "-p", "prod"]);
    assert!(!run.stdout.contains("00D"), "served the previous user's token: {run:?}");
    assert!(run.stderr.contains("user hasn't approved this consumer"), "a mint for the new user: {run:?}");
}

fn other_app() -> sfcred_stand_in::ConnectedApp {
    sfcred_stand_in::ConnectedApp {
        consumer_key: "3MVG9OTHERAPP".into(),
        certificate_pem: app_keys().1.clone(),
        approved_users: vec![USERNAME.into()],
    }
}

#[test]
fn doctor_spends_one_wrong_pin_not_two() {
    let env = TestEnv::new();
    crate::pkcs11::token_profile(&env, "prod");
    let before = env.stand_in.token_requests();
    let out = env
        .sfcred()
        .args(["doctor", "-p", "prod", "--json"])
        .env("SFCRED_PKCS11_PIN", "00000000")
        .output_within(TIMEOUT)
        .unwrap();
    let doctor: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let status = |name: &str| {
        doctor.as_array().unwrap().iter().find(|c| c["name"] == name).map(|c| c["status"].clone())
    };
    assert_eq!(status("PIN"), Some("fail".into()), "{doctor}");
    assert_eq!(status("live mint"), Some("skip".into()), "no second login with the wrong PIN: {doctor}");
    assert_eq!(env.stand_in.token_requests(), before);
}

#[test]
fn a_damaged_rotation_file_is_warned_about_once_per_call() {
    let env = TestEnv::new();
    env.login("prod").success();
    let path = env.path("config/sfcred/rotations/prod.json");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, "{ not json").unwrap();
    let run = env.run(&["token", "-p", "prod", "--refresh"]).success();
    assert_eq!(run.stderr.matches("ignoring the key rotation's state").count(), 1, "{run:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ not json", "left as it is");
}

#[test]
fn settings_and_rotation_files_that_anyone_may_write_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    env.login("prod").success();
    let settings = env.path("config/sfcred/config.toml");
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = env.run(&["token", "-p", "prod"]).failure(2);
    assert!(run.stderr.contains("anyone may write it (mode 666)"), "{run:?}");
    assert!(run.stderr.contains("chmod o-w"), "{run:?}");
    // Group-writable, as a umask of 002 leaves a file: the user's own group, trusted.
    std::fs::set_permissions(&settings, std::fs::Permissions::from_mode(0o664)).unwrap();
    env.run(&["token", "-p", "prod"]).success();

    let rotation = env.path("config/sfcred/rotations/prod.json");
    env.run(&["rotate", "start", "-p", "prod"]).success();
    std::fs::set_permissions(&rotation, std::fs::Permissions::from_mode(0o602)).unwrap();
    let run = env.run(&["rotate", "status", "-p", "prod"]).failure(1);
    assert!(run.stderr.contains("anyone may write it"), "{run:?}");
}

#[test]
fn a_token_key_under_2048_bits_is_refused_as_a_software_key_is() {
    let env = TestEnv::new();
    let token = env.softhsm_token("small");
    crate::pkcs11::pkcs11_tool(
        &env,
        &["--keypairgen", "--key-type", "rsa:1024", "--label", "small", "--id", "01"],
    );
    let (path, query) = token.split_once('?').unwrap();
    let uri = format!("{path};object=small?{query}");
    let out = env
        .sfcred()
        .args(["login", "-p", "prod", "--username", USERNAME, "--client-id", CONSUMER_KEY, "--pkcs11", &uri])
        .args(["--login-url", env.stand_in.url()])
        .env("SFCRED_PKCS11_PIN", crate::support::TOKEN_PIN)
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).failure(2);
    assert!(run.stderr.contains("an RSA key of 1024 bits; use 2048 to 8192"), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 0);
}

#[test]
fn a_pin_on_the_command_line_is_refused_and_one_in_the_settings_ignored() {
    let env = TestEnv::new();
    let token = env.softhsm_token("argv");
    let (path, query) = token.split_once('?').unwrap();
    let uri = format!("{path};object=prod?{query}&pin-value=80417236");
    let run = env.run(&["keygen", "-p", "prod", "--pkcs11", &uri]).failure(2);
    assert!(
        run.stderr.contains("a pin-value on the command line is readable by every local user"),
        "{run:?}"
    );
    assert!(!run.stderr.contains("80417236"), "{run:?}");
    assert!(run.stderr.contains("hint: put the PIN in a file only you can read"), "{run:?}");
    let login =
        ["login", "-p", "prod", "--username", USERNAME, "--client-id", CONSUMER_KEY, "--pkcs11", &uri];
    let run = env.run(&login).failure(2);
    assert!(run.stderr.contains("pin-source=FILE"), "{run:?}");

    std::fs::create_dir_all(env.path("config/sfcred")).unwrap();
    let settings = format!(
        "[profiles.prod]\nusername = \"{USERNAME}\"\nlogin_url = \"{0}\"\naudience = \"{0}\"\nttl = \"30m\"\n\
         store = \"secret-service\"\npkcs11 = \"{uri}\"\n",
        env.stand_in.url()
    );
    std::fs::write(env.path("config/sfcred/config.toml"), settings).unwrap();
    // The PIN there is not used (no PIN at all: the profile has no key yet), and it is not shown.
    let run = env.run(&["profiles"]).success();
    assert!(run.stderr.contains("ignoring the pin-value of profile \"prod\""), "{run:?}");
    assert!(!run.stderr.contains("80417236") && !run.stdout.contains("80417236"), "{run:?}");
}

#[test]
fn eca_writes_inside_the_project_only() {
    let env = TestEnv::new();
    env.run(&["keygen", "-p", "prod", "--cert-out", "prod.crt"]).success();
    let eca = |project: &std::path::Path, email: &str| {
        let out = project.to_str().unwrap().to_owned();
        env.run(&["eca", "-p", "prod", "--name", "Mine", "--out", &out, "--contact-email", email])
    };
    let project = env.path("climbs");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("sfdx-project.json"),
        r#"{"packageDirectories":[{"path":"../outside","default":true}]}"#,
    )
    .unwrap();
    let run = eca(&project, "a@b.test").failure(2);
    assert!(run.stderr.contains("is outside the project"), "{run:?}");
    assert!(!env.path("outside").exists());

    // A package directory that is a symbolic link out of the project.
    let project = env.path("linked");
    let elsewhere = env.path("elsewhere");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, project.join("force-app")).unwrap();
    let run = eca(&project, "a@b.test").failure(2);
    assert!(run.stderr.contains("is outside the project"), "{run:?}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written through the link");

    let run = eca(&env.path("fresh"), "not an email").failure(2);
    assert!(run.stderr.contains("is not an email address"), "{run:?}");
}

#[test]
fn a_module_path_that_is_relative_is_refused_when_loaded() {
    let env = TestEnv::new();
    let uri = "pkcs11:token=sfcred;object=prod?module-path=libsofthsm2.so";
    let run = env.run(&["keygen", "-p", "prod", "--pkcs11", uri]).failure(6);
    assert!(run.stderr.contains("module-path must be an absolute path"), "{run:?}");
}

#[test]
fn a_pkcs11_call_that_never_answers_is_given_up_with_a_hint_and_a_module_done_with_is_finalized() {
    let env = TestEnv::new();
    crate::pkcs11::token_profile(&env, "prod");
    let shim = env.path("hung-pkcs11.so");
    let built = env
        .command("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&shim)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/hung-pkcs11.c"))
        .arg("-ldl")
        .output_within(TIMEOUT)
        .unwrap();
    assert!(built.status.success(), "cc: {}", String::from_utf8_lossy(&built.stderr));
    env.edit_settings(|text| text.replace(crate::support::SOFTHSM_MODULE, shim.to_str().unwrap()));
    for (hang_at, action) in [("sign", "signing"), ("login", "opening the key")] {
        let out = env
            .sfcred()
            .args(["token", "-p", "prod", "--refresh"])
            .env("SFCRED_PKCS11_PIN", crate::support::TOKEN_PIN)
            .env("SFCRED_KEYCHAIN_TIMEOUT", "1s")
            .env("HANG_AT", hang_at)
            .output_within(TIMEOUT)
            .unwrap();
        let run = Run::of(out).failure(6);
        assert!(run.stderr.contains(&format!("did not answer within 1s while {action}")), "{run:?}");
        assert!(run.stderr.contains("touch it and try again"), "{run:?}");
    }
    // A session that never closes: the token was minted and is handed out all the same.
    let out = env
        .sfcred()
        .args(["token", "-p", "prod", "--refresh", "--format", "token"])
        .env("SFCRED_PKCS11_PIN", crate::support::TOKEN_PIN)
        .env("SFCRED_KEYCHAIN_TIMEOUT", "1s")
        .env("HANG_AT", "close")
        .output_within(TIMEOUT)
        .unwrap();
    assert!(Run::of(out).success().stdout.starts_with("00D"));
    // The same module, answering, still signs, and is finalized once it is done with.
    let log = env.path("finalized");
    let out = env
        .sfcred()
        .args(["token", "-p", "prod", "--refresh"])
        .env("SFCRED_PKCS11_PIN", crate::support::TOKEN_PIN)
        .env("FINALIZE_LOG", &log)
        .output_within(TIMEOUT)
        .unwrap();
    Run::of(out).success();
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "C_Finalize 0\n");
}

#[test]
fn a_key_under_2048_bits_is_called_too_small() {
    let env = TestEnv::new();
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
    let run = env.login_with("prod", &[("--key-file", &format!("{data}/rsa-1024-pkcs8.pem"))]).failure(2);
    assert!(run.stderr.contains("an RSA key of under 2048 bits, too small to sign with"), "{run:?}");
    assert!(run.stderr.contains("at least 2048 bits"), "{run:?}");
    let mut from_stdin = env.login_args("prod");
    let at = from_stdin.iter().position(|a| a == "--key-file").unwrap();
    from_stdin.splice(at..at + 2, ["--key-stdin".to_owned()]);
    let pkcs1 = std::fs::read(format!("{data}/rsa-1024-pkcs1.pem")).unwrap();
    let run = env.run_with_stdin(&from_stdin, &pkcs1).failure(2);
    assert!(
        run.stderr.contains("too small to sign with") && run.stderr.contains("at least 2048 bits"),
        "{run:?}"
    );
    assert_eq!(env.stand_in.token_requests(), 0);
}

#[test]
fn eca_checks_the_contact_email_and_writes_well_formed_xml() {
    let env = TestEnv::new();
    env.run(&["keygen", "-p", "prod", "--cert-out", "prod.crt"]).success();
    let eca = |out: &str, email: &str| {
        let out = env.path(out);
        env.run(&[
            "eca",
            "-p",
            "prod",
            "--name",
            "Mine",
            "--out",
            out.to_str().unwrap(),
            "--contact-email",
            email,
        ])
    };
    for (n, bad) in ["", "not an email", "ops\u{1}@acme.com", "ops@acme"].into_iter().enumerate() {
        let out = format!("bad{n}");
        let run = eca(&out, bad).failure(2);
        assert!(run.stderr.contains("is not an email address"), "{bad:?}: {run:?}");
        assert!(!run.stderr.contains('\u{1}'), "{run:?}");
        assert!(!env.path(&out).exists(), "{bad:?}: nothing written");
    }
    eca("good", "o'brien&co+sfcred@acme.com").success();
    let mut dirs = vec![env.path("good")];
    let mut checked = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "xml") {
                let text = std::fs::read_to_string(&path).unwrap();
                let document = roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                checked += 1;
                if let Some(email) = document.descendants().find(|n| n.has_tag_name("contactEmail")) {
                    assert_eq!(email.text(), Some("o'brien&co+sfcred@acme.com"), "{path:?}");
                }
            }
        }
    }
    assert!(checked >= 3, "{checked} XML files");
}

#[test]
fn git_s_helper_answers_https_s_own_port_only() {
    let env = TestEnv::new();
    env.login("default").success();
    let get = |host: &str| {
        let request = format!("protocol=https\nhost={host}\n\n");
        env.run_with_stdin(&["git-credential", "get"], request.as_bytes()).success().stdout
    };
    assert!(get("standin.my.salesforce.com:443").contains("password=00DSTANDIN"));
    for elsewhere in ["standin.my.salesforce.com:8443", "standin.my.salesforce.com:"] {
        assert_eq!(get(elsewhere), "", "{elsewhere}: another port is another origin");
    }
}

#[test]
fn env_for_powershell_escapes_every_single_quote_it_takes() {
    let env = TestEnv::new();
    env.login("prod").success();
    // No real token holds these, but a token is outside text: quoted as if it might.
    let mut entry = env.cache_entry("prod");
    entry["access_token"] = "00D!a'b\u{2018}c\u{2019}d\u{201A}e\u{201B}f".into();
    env.set_cache_entry("prod", &entry);
    let lines = env.run(&["env", "-p", "prod", "--shell", "powershell"]).success().stdout;
    let quoted = "'00D!a''b\u{2018}\u{2018}c\u{2019}\u{2019}d\u{201A}\u{201A}e\u{201B}\u{201B}f'";
    assert!(lines.contains(&format!("$Env:SF_ACCESS_TOKEN = {quoted}\n")), "{lines}");
}

#[test]
fn data_after_a_json_request_is_a_bad_request() {
    let env = TestEnv::new();
    env.login("prod").success();
    for input in [&br#"{"profile":"prod"} trailing"#[..], br#"{"profile":"prod"}{"profile":"prod"}"#] {
        let answer = env.run_with_stdin(&["credential"], input).json();
        assert_eq!(answer["error"]["kind"], "bad_request", "{answer}");
        assert!(!answer.to_string().contains("00DSTANDIN"), "{answer}");
    }
}

#[test]
fn an_upper_case_pkcs11_scheme_is_a_pkcs11_uri() {
    let env = TestEnv::new();
    let token = env.softhsm_token("upper");
    let (path, query) = token.split_once('?').unwrap();
    let uri = format!("{};object=prod?{query}", path.replacen("pkcs11:", "PKCS11:", 1));
    let out = env
        .sfcred()
        .args(["keygen", "-p", "prod", "--pkcs11", &uri])
        .env("SFCRED_PKCS11_PIN", crate::support::TOKEN_PIN)
        .output_within(TIMEOUT)
        .unwrap();
    Run::of(out).success();
    assert!(env.path("prod.crt").exists());
}

#[test]
fn settings_errors_and_verbose_answers_show_no_secret() {
    let env = TestEnv::new();
    env.login("prod").success();
    // The stand-in answers with an ID token, as Salesforce does when the scope holds openid.
    let run = env.run(&["-v", "token", "-p", "prod", "--refresh"]).success();
    assert!(run.stderr.contains("\"id_token\":\"<redacted>\""), "{run:?}");
    assert!(
        !run.stderr.contains("SECRET-ID-TOKEN") && !run.stderr.contains("00DSTANDIN000001!AR"),
        "{run:?}"
    );

    env.edit_settings(|text| format!("{text}pkcs11 = \"pkcs11:token=t?pin-value=hunter2\" oops\n"));
    let run = env.run(&["token", "-p", "prod"]).failure(2);
    assert!(run.stderr.contains("config.toml"), "{run:?}");
    assert!(!run.stderr.contains("hunter2"), "the settings error quotes the line: {run:?}");
}
