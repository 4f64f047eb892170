//! The interfaces other tools use: the JSON protocol, exec credentials, git's helper
//! protocol with the real git, and the env/exec wrappers with a real shell.

use std::io::Write;
use std::process::Stdio;

use crate::support::{PipeReader, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin};

fn logged_in() -> TestEnv {
    let env = TestEnv::new();
    env.login("default").success();
    env
}

// --- sfcred credential ---

#[test]
fn credential_answers_empty_input_with_the_default_profile() {
    let env = logged_in();
    let run = env.run_with_stdin(&["credential"], b"").success();
    let answer = run.json();
    assert_eq!(answer["v"], 1);
    assert_eq!(answer["profile"], "default");
    assert_eq!(answer["username"], USERNAME);
    assert!(answer["access_token"].as_str().unwrap().starts_with("00DSTANDIN"));
    assert!(run.stdout.starts_with(r#"{"v":1,"access_token":"#), "v leads: {}", run.stdout);
    assert_eq!(env.stand_in.token_requests(), 1, "served from the cache");
}

#[test]
fn credential_honours_every_request_field_and_ignores_unknown_ones() {
    let env = logged_in();
    env.login("prod").success();
    let request = br#"{"v":1,"profile":"prod","min_valid_secs":300,"refresh":true,"from":"a newer caller"}"#;
    let answer = env.run_with_stdin(&["credential"], request).success().json();
    assert_eq!(answer["profile"], "prod");
    assert_eq!(env.stand_in.token_requests(), 3, "refresh minted");
}

fn credential_error(run: &Run) -> (String, String) {
    let answer = run.json();
    assert_eq!(answer["v"], 1, "{run:?}");
    let error = &answer["error"];
    assert!(error["hint"].is_string(), "{run:?}");
    (error["kind"].as_str().unwrap().to_owned(), error["message"].as_str().unwrap().to_owned())
}

#[test]
fn credential_errors_are_machine_readable() {
    let env = logged_in();
    let cases: [(&[u8], i32, &str, &str); 6] = [
        (b"{\"v\":1,", 2, "bad_request", "not valid JSON"),
        (b"[1,2,3]", 2, "bad_request", "not valid JSON"),
        (br#"{"v":7}"#, 2, "bad_request", "version 7 is not supported; this sfcred speaks version 1"),
        (b"{\"profile\":\"a\0b\"}", 2, "bad_request", "not valid JSON"),
        (br#"{"profile":"nope"}"#, 3, "not_logged_in", "no profile named \"nope\""),
        (br#"{"min_valid_secs":86400}"#, 2, "bad_request", "min_valid_secs 86400 is not shorter than"),
    ];
    for (input, code, kind, message) in cases {
        let run = env.run_with_stdin(&["credential"], input);
        assert_eq!(run.code, code, "{run:?}");
        let (got_kind, got_message) = credential_error(&run);
        assert_eq!(got_kind, kind, "{run:?}");
        assert!(got_message.contains(message), "{got_message}");
        assert!(run.stderr.contains("sfcred: error:"), "a person reads stderr: {run:?}");
    }
    for (min_valid, fix) in [(3600, "--ttl 2h"), (86400, "24h at most")] {
        let request = format!(r#"{{"min_valid_secs":{min_valid}}}"#);
        let too_long = env.run_with_stdin(&["credential"], request.as_bytes()).json();
        let hint = too_long["error"]["hint"].as_str().unwrap();
        assert!(hint.contains(fix), "the fix for what was asked, not the protocol's page: {hint}");
    }
}

#[test]
fn credential_refuses_oversized_input() {
    let env = logged_in();
    let huge = format!(r#"{{"v":1,"pad":"{}"}}"#, "x".repeat(70 * 1024));
    let run = env.run_with_stdin(&["credential"], huge.as_bytes());
    assert_eq!(run.code, 2);
    let (kind, message) = credential_error(&run);
    assert_eq!((kind.as_str(), message.contains("over 64 KiB")), ("bad_request", true), "{message}");
}

#[test]
fn credential_reports_a_refusal_as_rejected() {
    let env = TestEnv::new();
    let mut args = env.login_args_with("default", &[("--client-id", "3MVG9NOTTHEAPP")]);
    args.push("--no-verify".into());
    env.run(&args).success();
    let run = env.run_with_stdin(&["credential"], b"{}");
    assert_eq!(run.code, 4);
    let (kind, message) = credential_error(&run);
    assert_eq!(kind, "rejected");
    assert!(message.contains("invalid_client_id"), "{message}");
}

// --- exec credential ---

#[test]
fn exec_credential_answers_in_the_callers_api_version() {
    let env = logged_in();
    let run = env.run(&["token", "--format", "exec-credential"]).success();
    let credential = run.json();
    assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1");
    assert_eq!(credential["kind"], "ExecCredential");
    assert!(credential["status"]["token"].as_str().unwrap().starts_with("00DSTANDIN"));
    assert!(humantime::parse_rfc3339(credential["status"]["expirationTimestamp"].as_str().unwrap()).is_ok());

    let info = r#"{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","spec":{"interactive":false}}"#;
    let out = env
        .sfcred()
        .args(["token", "--format", "exec-credential"])
        .env("KUBERNETES_EXEC_INFO", info)
        .output_within(TIMEOUT);
    let credential = Run::of(out.unwrap()).success().json();
    assert_eq!(credential["apiVersion"], "client.authentication.k8s.io/v1beta1");
}

#[test]
fn exec_credential_refuses_an_unknown_api_version_before_minting() {
    let env = logged_in();
    env.run(&["invalidate"]).success();
    let info = r#"{"apiVersion":"client.authentication.k8s.io/v9","kind":"ExecCredential"}"#;
    let out = env
        .sfcred()
        .args(["token", "--format", "exec-credential"])
        .env("KUBERNETES_EXEC_INFO", info)
        .output_within(TIMEOUT);
    let run = Run::of(out.unwrap()).failure(2);
    assert!(run.stderr.contains("apiVersion \"client.authentication.k8s.io/v9\""), "{run:?}");
    assert_eq!(env.stand_in.token_requests(), 1, "nothing minted");
}

// --- git ---

/// The real git, with sfcred as its only credential helper.
fn git(env: &TestEnv, args: &[&str], input: &str) -> Run {
    let helper = format!("!{} git-credential", crate::support::sfcred_exe().display());
    let mut child = env
        .command("git")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args(["-c", "credential.helper=", "-c", &format!("credential.helper={helper}")])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    Run::of(child.output_within(TIMEOUT).unwrap())
}

#[test]
fn git_fills_credentials_for_the_profiles_instance_host() {
    let env = logged_in();
    let run =
        git(&env, &["credential", "fill"], "protocol=https\nhost=standin.my.salesforce.com\n\n").success();
    let token = std::fs::read_to_string(env.cache_file("default")).unwrap();
    let token: serde_json::Value = serde_json::from_str(&token).unwrap();
    let token = token["access_token"].as_str().unwrap();
    assert!(run.stdout.contains(&format!("username={USERNAME}\n")), "{run:?}");
    assert!(run.stdout.contains(&format!("password={token}\n")), "{run:?}");
}

#[test]
fn git_gets_a_bearer_credential_when_it_can_take_one() {
    let env = logged_in();
    let input = "capability[]=authtype\nprotocol=https\nhost=standin.my.salesforce.com\n\n";
    let run = git(&env, &["credential", "fill"], input).success();
    assert!(run.stdout.contains("authtype=Bearer\n"), "{run:?}");
    assert!(run.stdout.contains("credential=00DSTANDIN"), "{run:?}");
}

#[test]
fn git_reject_drops_the_token_it_saw() {
    let env = logged_in();
    let filled =
        git(&env, &["credential", "fill"], "protocol=https\nhost=standin.my.salesforce.com\n\n").success();
    assert!(env.cache_file("default").exists());
    git(&env, &["credential", "reject"], &filled.stdout).success();
    assert!(!env.cache_file("default").exists(), "the rejected token is gone");

    // A later fill mints anew.
    git(&env, &["credential", "fill"], "protocol=https\nhost=standin.my.salesforce.com\n\n").success();
    assert_eq!(env.stand_in.token_requests(), 2);
}

#[test]
fn git_erase_keeps_a_newer_token() {
    let env = logged_in();
    let input = "protocol=https\nhost=standin.my.salesforce.com\npassword=an-older-token\n\n";
    env.run_with_stdin(&["git-credential", "erase"], input.as_bytes()).success();
    assert!(env.cache_file("default").exists());
}

#[test]
fn git_helper_stays_silent_for_other_hosts_and_protocols() {
    let env = logged_in();
    for input in
        ["protocol=https\nhost=github.com\n\n", "protocol=http\nhost=standin.my.salesforce.com\n\n", ""]
    {
        let run = env.run_with_stdin(&["git-credential", "get"], input.as_bytes()).success();
        assert_eq!(run.stdout, "", "{input:?}");
    }
    let run =
        env.run_with_stdin(&["git-credential", "store"], b"protocol=https\nhost=x\npassword=p\n").success();
    assert_eq!(run.stdout, "");
}

#[test]
fn git_helper_refuses_hostile_input() {
    let env = logged_in();
    let run = env.run_with_stdin(&["git-credential", "get"], b"protocol=https\nnot a pair\n").failure(2);
    assert!(run.stderr.contains("line 2 of git's request has no '='"), "{run:?}");
    let run = env.run_with_stdin(&["git-credential", "get"], b"host=standin\0.evil\n").failure(2);
    assert!(run.stderr.contains("NUL"), "{run:?}");
    let big = "host=x\n".repeat(20_000);
    env.run_with_stdin(&["git-credential", "get"], big.as_bytes()).failure(2);
}

#[test]
fn git_helper_with_an_explicit_profile() {
    let env = logged_in();
    let input = b"protocol=https\nhost=standin.my.salesforce.com\n\n";
    let run = env.run_with_stdin(&["git-credential", "get", "--profile", "default"], input).success();
    assert!(run.stdout.contains("password=00DSTANDIN"), "{run:?}");
    env.run_with_stdin(&["git-credential", "get", "--profile", "nope"], input).failure(3);
}

#[test]
fn git_helper_answers_only_the_profiles_hosts_over_https() {
    let env = logged_in();
    let hosts = [
        "protocol=http\nhost=standin.my.salesforce.com\n\n",
        "protocol=https\nhost=evil.example.com\n\n",
        "host=standin.my.salesforce.com\n\n",
    ];
    for input in hosts {
        for profile in [&["--profile", "default"][..], &[]] {
            let run = env
                .run_with_stdin(&[&["-v", "git-credential", "get"][..], profile].concat(), input.as_bytes())
                .success();
            assert_eq!(run.stdout, "", "{input:?} {profile:?}");
            assert!(!run.stderr.contains("00DSTANDIN"), "{run:?}");
        }
    }
    let run = env
        .run_with_stdin(
            &["-v", "git-credential", "get", "-p", "default"],
            b"protocol=https\nhost=evil.example.com\n\n",
        )
        .success();
    assert!(
        run.stderr.contains("\"evil.example.com\" is neither the profile's login host nor its instance's"),
        "{run:?}"
    );
    let login_host = env.stand_in.url().trim_start_matches("http://").to_owned();
    let run = env
        .run_with_stdin(
            &["git-credential", "get", "-p", "default"],
            format!("protocol=https\nhost={login_host}\n\n").as_bytes(),
        )
        .success();
    assert!(run.stdout.contains("password=00DSTANDIN"), "the login host is the profile's: {run:?}");
}

// --- env and exec ---

#[test]
fn a_shell_evaluating_env_gets_the_token() {
    let env = logged_in();
    let script = format!(
        r#"eval "$('{}' env --shell bash)" && printf '%s|%s|%s' "$SF_ACCESS_TOKEN" "$SF_ORG_INSTANCE_URL" "$SFDX_ACCESS_TOKEN""#,
        crate::support::sfcred_exe().display()
    );
    let out = env.command("bash").arg("-c").arg(&script).output_within(TIMEOUT).unwrap();
    let run = Run::of(out).success();
    let parts: Vec<&str> = run.stdout.split('|').collect();
    assert!(parts[0].starts_with("00DSTANDIN"), "{run:?}");
    assert_eq!(parts[1], "https://standin.my.salesforce.com");
    assert_eq!(parts[2], parts[0]);
}

#[test]
fn env_speaks_each_shell() {
    let env = logged_in();
    for (shell, start) in [
        ("bash", "export SF_ACCESS_TOKEN='"),
        ("zsh", "export SF_ACCESS_TOKEN='"),
        ("fish", "set -gx SF_ACCESS_TOKEN '"),
        ("powershell", "$Env:SF_ACCESS_TOKEN = '"),
    ] {
        let run = env.run(&["env", "--shell", shell]).success();
        assert!(run.stdout.starts_with(start), "{shell}: {run:?}");
        assert_eq!(run.stdout.lines().count(), 5, "{shell}");
    }
}

#[test]
fn exec_passes_the_token_and_returns_the_commands_exit_code() {
    let env = logged_in();
    let run = env.run(&[
        "exec",
        "--",
        "sh",
        "-c",
        r#"printf '%s %s' "$SF_TARGET_ORG" "$SFDX_INSTANCE_URL"; exit 7"#,
    ]);
    assert_eq!(run.code, 7, "{run:?}");
    assert!(
        run.stdout.starts_with("00DSTANDIN") && run.stdout.ends_with(" https://standin.my.salesforce.com")
    );
}

#[test]
fn exec_hands_signals_to_the_command() {
    let env = logged_in();
    let mut child = env
        .sfcred()
        .args(["exec", "--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Once cat echoes a line it runs in sfcred's place, under sfcred's pid.
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"ready\n").unwrap();
    let mut stdout = PipeReader::new(child.stdout.take().unwrap());
    let echoed = stdout.read_until("\n", TIMEOUT);
    let line = &echoed[..=echoed.find('\n').unwrap()];
    assert_eq!(line, "ready\n");
    // SAFETY: kill has no memory effects; the pid is our own child's.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    let status = child.wait_within(TIMEOUT).unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "the command itself got SIGTERM: {status:?}");
}

#[test]
fn exec_of_a_missing_command_exits_127() {
    let env = logged_in();
    let run = env.run(&["exec", "--", "no-such-command-anywhere"]);
    assert_eq!(run.code, 127, "{run:?}");
    assert!(run.stderr.contains("cannot run no-such-command-anywhere"), "{run:?}");
}
