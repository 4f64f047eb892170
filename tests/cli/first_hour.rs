//! The first hour with sfcred (issue 19): what a new user reads when something is off.

use crate::support::{CONSUMER_KEY, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin};

#[test]
fn verbose_says_whether_a_token_was_cached_or_minted_and_why_git_gets_nothing() {
    let env = TestEnv::new();
    let login = env.login("prod").success();
    assert!(login.stderr.contains("next: sfcred token --profile prod prints a token"), "{login:?}");
    let hit = env.run(&["-v", "token", "-p", "prod"]).success();
    assert!(hit.stderr.contains("a cached token of profile \"prod\", valid for 29m"), "{hit:?}");
    assert!(!hit.stderr.contains("minting"), "{hit:?}");
    let mint = env.run(&["-v", "token", "-p", "prod", "--refresh"]).success();
    assert!(mint.stderr.contains("minting for profile \"prod\""), "{mint:?}");

    let git =
        |request: &str| env.run_with_stdin(&["-v", "git-credential", "get"], request.as_bytes()).success();
    let http = git("protocol=http\nhost=standin.my.salesforce.com\n\n");
    assert_eq!(http.stdout, "");
    assert!(http.stderr.contains("tokens go over https only, and git asks for http"), "{http:?}");
    let elsewhere = git("protocol=https\nhost=github.com\n\n");
    assert_eq!(elsewhere.stdout, "");
    assert!(elsewhere.stderr.contains("no profile's login or instance host is github.com"), "{elsewhere:?}");
}

#[test]
fn doctor_says_ok_in_json_as_in_text() {
    let env = TestEnv::new();
    env.login("prod").success();
    let json = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success();
    let checks: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let settings = checks.as_array().unwrap().iter().find(|c| c["name"] == "settings").unwrap();
    assert_eq!(settings["status"], "ok", "{checks}");
    let text = env.run(&["doctor", "-p", "prod", "--offline"]).success();
    assert!(
        text.stdout.lines().any(|l| l.trim_start().starts_with("ok") && l.contains("settings")),
        "{text:?}"
    );
}

#[test]
fn a_mistyped_command_line_has_the_prefix_of_every_other_error() {
    let env = TestEnv::without_keychain();
    for args in [&["tokn"][..], &["token", "--bogus"], &["completions"]] {
        let run = env.run(args);
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.starts_with("sfcred: error: "), "{run:?}");
    }
    let help = env.run(&["token", "--help"]);
    assert_eq!(help.code, 0, "{help:?}");
    assert!(help.stdout.contains("Usage: sfcred token"), "{help:?}");
}

#[test]
fn use_makes_a_profile_the_default_until_it_is_logged_out() {
    let env = TestEnv::new();
    env.login("prod").success();
    env.login("uat").success();
    let none = env.run(&["token"]).failure(3);
    assert!(none.stderr.contains("no profile named \"default\""), "{none:?}");
    let chosen = env.run(&["use", "prod"]).success();
    assert!(chosen.stderr.contains("profile \"prod\" is the default now"), "{chosen:?}");
    let token = env.run(&["token"]).success();
    assert_eq!(token.json()["profile"], "prod");
    let listed = env.run(&["profiles"]).success();
    assert!(listed.stdout.lines().any(|l| l.starts_with("* prod")), "{listed:?}");
    assert!(listed.stdout.lines().any(|l| l.starts_with("  uat")), "{listed:?}");
    let json: serde_json::Value =
        serde_json::from_str(&env.run(&["profiles", "--json"]).success().stdout).unwrap();
    assert_eq!(json[0]["default"], true, "{json}");
    let other =
        Run::of(env.sfcred().args(["token"]).env("SFCRED_PROFILE", "uat").output_within(TIMEOUT).unwrap());
    assert_eq!(other.success().json()["profile"], "uat");
    let settings = std::fs::read(env.path("config/sfcred/config.toml")).unwrap();
    let unknown = env.run(&["use", "nope"]).failure(3);
    assert!(unknown.stderr.contains("known profiles: prod, uat"), "{unknown:?}");
    assert_eq!(std::fs::read(env.path("config/sfcred/config.toml")).unwrap(), settings, "nothing written");
    // A login without --profile makes "default", and leaves the chosen profile alone.
    let mut login = env.login_args("x");
    login.drain(1..3);
    env.run(&login).success();
    assert_eq!(env.run(&["token"]).success().json()["profile"], "prod");
    assert_eq!(env.run(&["token", "-p", "default"]).success().json()["profile"], "default");
    // An environment's profile serves tokens, but the saved profile commands follow `use`.
    let certificate = env.write("app.crt", &crate::support::app_keys().1);
    let recorded = env
        .sfcred()
        .args(["certificate", &certificate])
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .env("SFCRED_PRIVATE_KEY", &crate::support::app_keys().0)
        .output_within(TIMEOUT)
        .unwrap();
    let recorded = Run::of(recorded).success();
    assert!(recorded.stderr.contains("profile \"prod\"'s key"), "{recorded:?}");
    let logout = env.run(&["logout"]).success();
    assert!(logout.stderr.contains("logged out profile \"prod\""), "{logout:?}");
    assert!(
        logout
            .stderr
            .contains("\"prod\" was the default profile: commands without --profile use \"default\" now")
    );
    assert_eq!(env.run(&["token"]).success().json()["profile"], "default", "no profile is chosen now");
}

#[test]
fn the_daily_commands_show_examples_in_help_and_man_pages() {
    let env = TestEnv::without_keychain();
    for (command, example) in [
        ("token", "sfcred token --refresh"),
        ("login", "sfcred login --profile uat --sandbox"),
        ("exec", "sfcred exec -- sf data query"),
        ("env", "eval \"$(sfcred env)\""),
        ("doctor", "sfcred doctor --profile uat --offline"),
        ("completions", "sfcred completions bash >"),
        ("use", "sfcred use prod"),
    ] {
        let help = env.run(&[command, "--help"]).success();
        assert!(help.stdout.contains("Examples:") && help.stdout.contains(example), "{command}: {help:?}");
    }
    let exec = env.run(&["exec", "--help"]).success();
    assert!(exec.stdout.contains("Everything after -- is the command"), "{exec:?}");
    let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/sfcred-token.1")).unwrap();
    assert!(page.contains("sfcred token \\-\\-refresh"), "the man page has the examples too");
    let exec_page =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/man/sfcred-exec.1")).unwrap();
    assert!(exec_page.contains("[OPTIONS] \\-\\- <COMMAND>"), "the synopsis shows the --");
}

/// A person at a terminal (`script` gives sfcred one): a wrong answer is asked again with
/// its reason, `~` is the home directory, TAB completes a path, and a second login offers
/// the first one's values.
#[test]
fn an_interactive_login_asks_again_instead_of_giving_up() {
    let env = TestEnv::new();
    let key = std::path::PathBuf::from(env.key_file());
    let key_name = key.file_name().unwrap().to_str().unwrap().to_owned();
    let session = |answers: &[(&str, &str)], until: &str| env.at_terminal("login -p typed", answers, until);
    let my_domain = "\x1b[B\x1b[B"; // two arrow-downs: Production, Sandbox, My Domain URL
    let screen = session(
        &[
            ("Salesforce username", USERNAME),
            ("My Domain URL", my_domain),
            ("My Domain URL:", "127.0.0.1:39525"),
            ("it has no scheme: write https:// before the host", env.stand_in.url()),
            ("Consumer key of the app", "3MVG9NOSUCHAPP"),
            ("Path to the RSA private key", "~/no-such.key"),
            // TAB completes the path: the home holds one name starting with "salesf".
            ("No such file", &format!("~/{}\t", &key_name[..6])),
            // Salesforce does not know the first consumer key: it is asked for again.
            ("Consumer key of the app", CONSUMER_KEY),
        ],
        "logged in profile \"typed\"",
    );
    assert!(screen.contains("checking the setup with"), "{screen}");
    assert!(screen.contains("a new app takes 2 to 10 minutes before it does); give it again"), "{screen}");
    // Again: Enter takes the username and the URL as they are.
    let screen = session(
        &[
            (&format!("Salesforce username [{USERNAME}]"), ""),
            ("Environment", ""),
            (&format!("My Domain URL [{}]", env.stand_in.url()), ""),
            ("Consumer key of the app", CONSUMER_KEY),
        ],
        "logged in profile \"typed\"",
    );
    assert!(screen.contains(&format!("as {USERNAME}")), "{screen}");
}

#[test]
fn doctor_checks_the_environment_s_profile_when_there_is_one() {
    let env = TestEnv::without_keychain();
    let out = env
        .sfcred()
        .args(["doctor", "--json"])
        .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
        .env("SFCRED_USERNAME", USERNAME)
        .env("SFCRED_PRIVATE_KEY", &crate::support::app_keys().0)
        .env("SFCRED_LOGIN_URL", env.stand_in.url())
        .output_within(TIMEOUT)
        .unwrap();
    let run = Run::of(out).success();
    let checks: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let status = |name: &str| {
        checks.as_array().unwrap().iter().find(|c| c["name"] == name).map(|c| c["status"].clone())
    };
    assert!(checks[0]["detail"].as_str().unwrap().contains("the environment's profile"), "{checks}");
    for name in ["settings", "private key", "consumer key", "login URL", "live mint"] {
        assert_eq!(status(name), Some("ok".into()), "{name}: {checks}");
    }
    assert_eq!(status("keychain"), None, "no keychain is used: {checks}");
    assert_eq!(env.stand_in.token_requests(), 1);
}

#[test]
fn a_key_keygen_made_is_listed_and_removed_before_any_login() {
    let env = TestEnv::new();
    // A second keygen into another keychain moves the key only when told to. (A unique name:
    // the kernel keyring is shared by every test of this user.)
    let moved = format!("moved-{}", std::process::id());
    env.run(&["keygen", "--profile", &moved, "--store", "keyutils"]).success();
    let in_keyutils = || {
        let entry = format!("keyring:{moved}/private-key@sfcred");
        env.command("keyctl").args(["search", "@s", "user", &entry]).output().unwrap().status.success()
    };
    assert!(in_keyutils());
    let refused = env.run(&["keygen", "--profile", &moved]).failure(2);
    assert!(
        refused.stderr.contains(&format!("profile \"{moved}\"'s key in the keyutils keychain")),
        "{refused:?}"
    );
    env.run(&["keygen", "--profile", &moved, "--force"]).success();
    assert!(!in_keyutils(), "the old key left keyutils");
    assert!(env.secret_service_lookup(&format!("{moved}/private-key")).is_some());
    env.run(&["logout", "--profile", &moved]).success();
    env.run(&["keygen", "--profile", "other"]).success();
    let listed = env.run(&["profiles"]).success();
    assert!(
        listed.stdout.lines().any(|l| l.contains("other") && l.ends_with("key only, not logged in")),
        "{listed:?}"
    );
    let logout = env.run(&["logout", "--profile", "other"]).success();
    assert!(logout.stderr.contains("removed profile \"other\", which was never logged in"), "{logout:?}");
    assert!(env.secret_service_lookup("other/private-key").is_none(), "the key left the keychain");
    assert!(!env.path("config/sfcred/certificates/other.pem").exists());
    env.run(&["profiles"]).success();
    assert!(!env.run(&["profiles"]).stdout.contains("other"));

    // A login takes the key over; logout --all asks first on a terminal.
    env.run(&["keygen", "--profile", "prod"]).success();
    env.run(&["keygen", "--profile", "spare"]).success();
    env.run(&env.login_args("prod")).success();
    let json: serde_json::Value =
        serde_json::from_str(&env.run(&["profiles", "--json"]).success().stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json[1]["key_only"], true, "{json}");
    let kept = env.at_terminal("logout --all", &[("Log out of prod, spare", "n")], "nothing was logged out");
    assert!(kept.contains("nothing was logged out"));
    assert!(env.secret_service_lookup("spare/private-key").is_some());
    // At a terminal with stderr redirected the question cannot show: --yes must say it.
    let errors = env.path("logout-errors");
    let command = format!("{} logout --all 2>{}", crate::support::sfcred_exe().display(), errors.display());
    let status = env.command("script").args(["-qec", &command, "/dev/null"]).wait_within(TIMEOUT).unwrap();
    assert_eq!(status.code(), Some(2), "a usage error");
    let said = std::fs::read_to_string(&errors).unwrap();
    assert!(
        said.contains("the question cannot show with stderr redirected") && said.contains("pass --yes"),
        "{said}"
    );
    assert!(env.secret_service_lookup("spare/private-key").is_some());
    let run = env.run(&["logout", "--all"]).success();
    assert!(
        run.stderr.contains("logged out profile \"prod\"")
            && run.stderr.contains("\"spare\", which was never"),
        "{run:?}"
    );
    assert!(env.secret_service_lookup("spare/private-key").is_none());
}

#[test]
fn a_certificate_is_recorded_without_logging_in_again() {
    let env = TestEnv::new();
    env.login("prod").success();
    let doctor = env.run(&["doctor", "-p", "prod", "--offline"]).success();
    assert!(doctor.stdout.contains("record it with sfcred certificate --profile prod PATH"), "{doctor:?}");
    let other = env.write("other.crt", &sfcred_stand_in::key_and_certificate("someone else").1);
    let refused = env.run(&["certificate", "-p", "prod", &other]).failure(2);
    assert!(refused.stderr.contains("does not match"), "{refused:?}");
    let own = env.write("app.crt", &crate::support::app_keys().1);
    let recorded = env.run(&["certificate", "-p", "prod", &own]).success();
    assert!(recorded.stderr.contains("recorded the certificate of profile \"prod\"'s key"), "{recorded:?}");
    let doctor = env.run(&["doctor", "-p", "prod", "--offline", "--json"]).success();
    let checks: serde_json::Value = serde_json::from_str(&doctor.stdout).unwrap();
    let certificate = checks.as_array().unwrap().iter().find(|c| c["name"] == "certificate").unwrap();
    assert_eq!(certificate["status"], "ok", "{checks}");
    assert_eq!(env.stand_in.token_requests(), 1, "no second login");
}
