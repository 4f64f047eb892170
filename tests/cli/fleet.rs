//! One token for a fleet (issue 21): machines (each a home of its own, an environment
//! profile) share a real Redis (Debian's redis-server, started here on loopback; also a
//! Redis Cluster of three primaries), the token sealed under the fleet's key.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use sfcred_stand_in::Behaviour;

use crate::support::{CONSUMER_KEY, PipeReader, Run, TIMEOUT, TestEnv, USERNAME, WaitWithin, app_keys};

const FLEET_KEY: &str = "kOJOZz1x0Gq2b3Y8oK7b3q5b8n3m9F1pQ2r4S6t8V0w=";
const OTHER_FLEET_KEY: &str = "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5";
const PASSWORD: &str = "redis-pass-0451";

/// A redis-server on a free loopback port, in a directory of its own; killed when dropped.
pub struct Redis {
    port: u16,
    process: Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Redis {
    pub fn start(extra: &[&str]) -> Redis {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut process = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(extra)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .spawn()
            .expect("redis-server runs (scripts/test installs it)");
        PipeReader::new(process.stdout.take().unwrap()).read_until("Ready to accept connections", TIMEOUT);
        Redis { port, process, _dir: dir }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn kill(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// Every value Redis holds, raw.
    pub fn values(&self, password: Option<&str>) -> Vec<Vec<u8>> {
        let url = match password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => self.url(),
        };
        let mut redis = redis::Client::open(url).unwrap().get_connection().unwrap();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut redis).unwrap();
        keys.iter()
            .filter_map(|key| redis::cmd("GET").arg(key).query::<Option<Vec<u8>>>(&mut redis).ok().flatten())
            .collect()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three redis-servers made one cluster of three primaries with `redis-cli --cluster create`.
fn cluster() -> Vec<Redis> {
    let nodes: Vec<Redis> = (0..3)
        .map(|_| Redis::start(&["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]))
        .collect();
    let addresses: Vec<String> = nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)).collect();
    let out = Command::new("redis-cli")
        .args(["--cluster", "create"])
        .args(&addresses)
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .output_within(TIMEOUT)
        .unwrap();
    assert!(out.status.success(), "redis-cli --cluster create: {}", String::from_utf8_lossy(&out.stdout));
    // The nodes agree on the slots a moment after: wait for that state, not for a time.
    let deadline = std::time::Instant::now() + TIMEOUT;
    for node in &nodes {
        loop {
            let info =
                Command::new("redis-cli").args(["-p", &node.port.to_string(), "cluster", "info"]).output();
            if String::from_utf8_lossy(&info.unwrap().stdout).contains("cluster_state:ok") {
                break;
            }
            assert!(std::time::Instant::now() < deadline, "the cluster never came up");
            std::thread::yield_now();
        }
    }
    nodes
}

/// A machine of the fleet: a home of its own, the environment as its profile.
struct Machine {
    home: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        Machine { home: tempfile::tempdir().unwrap() }
    }

    /// sfcred on this machine, its profiles saved in its own home.
    fn saved(&self, env: &TestEnv) -> Command {
        let home = self.home.path();
        let mut command = env.sfcred();
        command
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_CACHE_HOME", home.join("cache"))
            .env("XDG_RUNTIME_DIR", home.join("run"))
            .current_dir(home);
        command
    }

    /// sfcred on this machine, the environment its profile, sharing `cache_url`.
    fn sfcred(&self, env: &TestEnv, cache_url: &str, cache_key: &str) -> Command {
        let mut command = self.saved(env);
        command
            .env("SFCRED_CLIENT_ID", CONSUMER_KEY)
            .env("SFCRED_USERNAME", USERNAME)
            .env("SFCRED_PRIVATE_KEY", &app_keys().0)
            .env("SFCRED_LOGIN_URL", env.stand_in.url())
            .env("SFCRED_CACHE_URL", cache_url)
            .env("SFCRED_CACHE_KEY", cache_key);
        command
    }

    fn cache_file(&self) -> PathBuf {
        let dir = self.home.path().join("run/sfcred");
        std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "token"))
            .expect("a cached token")
    }
}

/// `command`, run to its end.
fn finished(command: &mut Command) -> Run {
    Run::of(command.output_within(TIMEOUT).unwrap())
}

/// `machines` × `callers` simultaneous `sfcred token --format token`; each caller's outcome.
fn crowd(
    env: &TestEnv,
    machines: &[Machine],
    callers: usize,
    url: &str,
    key: &str,
    during: impl FnOnce(),
) -> Vec<Run> {
    crowd_of(machines, callers, |machine| machine.sfcred(env, url, key), during)
}

/// `machines` × `callers` simultaneous `sfcred token --format token`, each started as
/// `sfcred_on` says; each caller's outcome.
fn crowd_of(
    machines: &[Machine],
    callers: usize,
    sfcred_on: impl Fn(&Machine) -> Command,
    during: impl FnOnce(),
) -> Vec<Run> {
    let sfcred_on = &sfcred_on;
    let children: Vec<Child> = machines
        .iter()
        .flat_map(|machine| {
            (0..callers).map(move |_| {
                sfcred_on(machine)
                    .args(["token", "--format", "token"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
        })
        .collect();
    during();
    children.into_iter().map(|child| Run::of(child.output_within(TIMEOUT).unwrap())).collect()
}

/// Every caller got the one token.
fn one_token(runs: &[Run]) -> String {
    let first = runs[0].stdout.trim().to_owned();
    for run in runs {
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.stdout.trim(), first, "one token for everyone: {run:?}");
    }
    first
}

fn gated_crowd(env: &TestEnv, machines: &[Machine], url: &str) -> Vec<Run> {
    // The first request waits until every caller has started and queued behind it.
    env.stand_in.queue_behaviours(&[Behaviour::Gated]);
    crowd(env, machines, 30, url, FLEET_KEY, || {
        env.stand_in.wait_for_token_requests(1, TIMEOUT);
        env.stand_in.open_gate();
    })
}

#[test]
fn three_machines_of_thirty_callers_cause_one_token_request() {
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&[]);
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    let runs = gated_crowd(&env, &machines, &redis.url());
    let token = one_token(&runs);
    assert_eq!(env.stand_in.token_requests(), 1, "one request for the fleet");
    // Redis holds the token sealed: no token text, on any key.
    let values = redis.values(None);
    assert!(!values.is_empty());
    assert!(values.iter().all(|v| !String::from_utf8_lossy(v).contains(&token[..20])), "sealed");
    // Each machine keeps its own copy: a later call there asks no one.
    for machine in &machines {
        assert!(std::fs::read_to_string(machine.cache_file()).unwrap().contains(&token));
    }
}

#[test]
fn a_redis_cluster_serves_the_fleet_as_well() {
    let env = TestEnv::without_keychain();
    let nodes = cluster();
    let urls: Vec<String> = nodes.iter().map(Redis::url).collect();
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    let runs = gated_crowd(&env, &machines, &urls.join(","));
    one_token(&runs);
    assert_eq!(env.stand_in.token_requests(), 1, "one request through the cluster");
}

#[test]
fn redis_killed_in_the_middle_of_a_crowd_fails_no_caller() {
    let env = TestEnv::without_keychain();
    let mut redis = Redis::start(&[]);
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    env.stand_in.queue_behaviours(&[Behaviour::Gated]);
    let url = redis.url();
    let runs = crowd(&env, &machines, 30, &url, FLEET_KEY, || {
        env.stand_in.wait_for_token_requests(1, TIMEOUT);
        redis.kill();
        env.stand_in.open_gate();
    });
    for run in &runs {
        assert_eq!(run.code, 0, "every caller is served: {run:?}");
        assert!(run.stdout.starts_with("00DSTANDIN"), "{run:?}");
    }
    assert!(env.stand_in.token_requests() <= 3, "at most one per machine: {}", env.stand_in.token_requests());
    assert!(runs.iter().any(|r| r.stderr.contains("shared cache") && r.stderr.contains("warning")));
}

/// A Redis that takes connections and never answers: a mint waits out the shared cache's
/// timeout once, not again to count its login.
#[test]
fn a_silent_redis_is_waited_for_once_per_call() {
    let env = TestEnv::without_keychain();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("redis://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let (accepted, counted) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream.unwrap());
            accepted.send(()).unwrap();
        }
    });
    let run = finished(Machine::new().sfcred(&env, &url, FLEET_KEY).args(["token"]));
    let run = run.success();
    assert_eq!(run.stderr.matches("warning").count(), 1, "one warning: {run:?}");
    assert_eq!(env.stand_in.token_requests(), 1);
    assert_eq!(counted.try_iter().count(), 1, "one connection to the silent Redis");
}

#[test]
fn another_fleet_s_key_opens_nothing_and_passwords_never_show() {
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&["--requirepass", PASSWORD]);
    let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", redis.port);
    let (first, second) = (Machine::new(), Machine::new());
    let run =
        |machine: &Machine, key: &str, args: &[&str]| finished(machine.sfcred(&env, &url, key).args(args));
    run(&first, FLEET_KEY, &["-v", "token"]).success();
    let other = run(&second, OTHER_FLEET_KEY, &["-v", "token"]).success();
    assert!(
        other.stderr.matches("does not open with this fleet key").count() == 1,
        "a miss, with a warning: {other:?}"
    );
    assert_eq!(env.stand_in.token_requests(), 2, "the other fleet minted its own");
    let short = run(&Machine::new(), "short", &["token"]).success();
    assert!(short.stderr.contains("32 at least"), "{short:?}");

    // The other fleet's token is the one in Redis now: doctor tells which key opens it.
    let shared_check = |machine: &Machine, key: &str| {
        let doctor = run(machine, key, &["doctor", "--offline", "--json"]).success();
        let shared = doctor.doctor_check("shared cache");
        (doctor, shared)
    };
    let (doctor, shared) = shared_check(&first, FLEET_KEY);
    assert_eq!(shared["status"], "warn", "{shared}");
    assert!(
        shared["detail"].as_str().unwrap().contains("does not open with this machine's fleet key"),
        "{shared}"
    );
    let (_, shared) = shared_check(&second, OTHER_FLEET_KEY);
    assert_eq!(shared["status"], "ok", "{shared}");
    assert!(
        shared["detail"].as_str().unwrap().contains("answers in")
            && shared["detail"].as_str().unwrap().contains("opens"),
        "{shared}"
    );
    let wrong = format!("redis://:not-{PASSWORD}@127.0.0.1:{}", redis.port);
    let refused = Run::of(
        first
            .sfcred(&env, &wrong, FLEET_KEY)
            .args(["-v", "token", "--refresh"])
            .output_within(TIMEOUT)
            .unwrap(),
    )
    .success();
    assert!(refused.stderr.contains("going on without it"), "{refused:?}");
    for said in [&other.stderr, &doctor.stdout, &refused.stderr, &short.stderr] {
        assert!(!said.contains(PASSWORD), "the password shows: {said}");
    }
    assert!(refused.stderr.contains("***@127.0.0.1"), "shown, without the password: {refused:?}");
}

/// A saved profile with `cache = "redis"`: login takes the URL (its password from
/// SFCRED_CACHE_URL, never the command line) and the fleet key, and keeps both secrets in
/// the keychain, not the settings file; then three machines of 20 callers, with no SFCRED_*
/// variable set, cause one token request. (The machines are three homes over one Secret
/// Service: each has its own settings and file cache, so only Redis can share a token.)
#[test]
fn a_saved_profile_shares_the_fleet_s_redis_its_secrets_in_the_keychain() {
    // A password with the characters a URL escapes, and a `%` that is not an escape.
    const SPECIAL: &str = "p%41@s/s#w:rd";
    const ENCODED: &str = "p%2541%40s%2Fs%23w%3Ard";
    let env = TestEnv::new();
    let redis = Redis::start(&["--requirepass", SPECIAL]);
    let with_password = format!("redis://:{ENCODED}@127.0.0.1:{}", redis.port);
    let machines: Vec<Machine> = (0..3).map(|_| Machine::new()).collect();
    let login = |machine: &Machine, extra: &[&str], vars: &[(&str, &str)]| {
        let mut command = machine.saved(&env);
        command.args(env.login_args("default")).args(["--no-input"]).args(extra);
        command.envs(vars.iter().copied());
        finished(&mut command)
    };
    // A password on the command line is refused, unshown, and nothing is saved.
    let slashed = format!("redis://u:ab/cd@127.0.0.1:{}", redis.port);
    for url in [&with_password, &slashed] {
        let refused =
            login(&machines[0], &["--cache-url", url], &[("SFCRED_CACHE_KEY", FLEET_KEY)]).failure(2);
        assert!(!refused.stderr.contains(ENCODED) && !refused.stderr.contains("ab/cd"), "{refused:?}");
        assert!(url == &slashed || refused.stderr.contains("readable by every local user"), "{refused:?}");
    }
    assert!(!machines[0].home.path().join("config/sfcred/config.toml").exists());
    // A fleet key too short to seal with is refused.
    let short = login(
        &machines[0],
        &["--cache", "redis", "--no-verify"],
        &[("SFCRED_CACHE_URL", &with_password), ("SFCRED_CACHE_KEY", "short")],
    )
    .failure(2);
    assert!(short.stderr.contains("openssl rand -base64 32"), "{short:?}");
    // SFCRED_CACHE_URL's password goes only to the Redis that variable names.
    let elsewhere = format!("redis://127.0.0.1:{}", redis.port + 1);
    let vars_elsewhere = [("SFCRED_CACHE_URL", with_password.as_str()), ("SFCRED_CACHE_KEY", FLEET_KEY)];
    login(&machines[0], &["--cache-url", &elsewhere, "--no-verify"], &vars_elsewhere).success();
    assert_eq!(env.secret_service_lookup("default/redis-password"), None, "not sent elsewhere");
    // The first login is verified: its login is counted in the Redis the profile shares.
    let vars = [("SFCRED_CACHE_URL", with_password.as_str()), ("SFCRED_CACHE_KEY", FLEET_KEY)];
    let verified = login(&machines[0], &["-v", "--cache", "redis"], &vars).success();
    assert!(verified.stderr.contains("from the fleet: 1 of 3600"), "{verified:?}");
    for machine in &machines[1..] {
        login(machine, &["--cache", "redis", "--no-verify"], &vars).success();
    }
    for machine in &machines {
        let settings =
            std::fs::read_to_string(machine.home.path().join("config/sfcred/config.toml")).unwrap();
        assert!(settings.contains("cache = \"redis\""), "{settings}");
        assert!(
            settings.contains(&format!("cache_url = \"redis://127.0.0.1:{}\"", redis.port)),
            "{settings}"
        );
        assert!(
            !settings.contains("p%") && !settings.contains(FLEET_KEY),
            "no secret in the settings: {settings}"
        );
    }
    assert_eq!(env.secret_service_lookup("default/redis-password").as_deref(), Some(SPECIAL.as_bytes()));
    assert_eq!(env.secret_service_lookup("default/fleet-key").as_deref(), Some(FLEET_KEY.as_bytes()));
    // Machine 0's own copy of the login's token goes, and the fleet starts cold.
    finished(machines[0].saved(&env).args(["invalidate"])).success();

    env.stand_in.queue_behaviours(&[Behaviour::Gated]);
    let runs = crowd_of(
        &machines,
        20,
        |machine| machine.saved(&env),
        || {
            env.stand_in.wait_for_token_requests(2, TIMEOUT);
            env.stand_in.open_gate();
        },
    );
    let token = one_token(&runs);
    assert_eq!(env.stand_in.token_requests(), 2, "the login's, and one for the fleet of saved profiles");
    assert!(runs.iter().all(|r| !r.stderr.contains("warning")), "{runs:?}");
    let values = redis.values(Some(ENCODED));
    assert!(!values.is_empty() && values.iter().all(|v| !String::from_utf8_lossy(v).contains(&token[..20])));

    let listed = finished(machines[0].saved(&env).args(["profiles"])).success();
    assert!(listed.stdout.contains(&format!("redis redis://127.0.0.1:{}", redis.port)), "{listed:?}");
    let doctor = finished(machines[1].saved(&env).args(["doctor", "--offline", "--json"]));
    let shared = doctor.doctor_check("shared cache");
    assert_eq!(shared["status"], "ok", "{shared}");
    assert!(shared["detail"].as_str().unwrap().contains("the fleet's token opens"), "{shared}");
    for said in [&listed.stdout, &listed.stderr, &doctor.stdout, &doctor.stderr] {
        assert!(!said.contains("p%") && !said.contains(FLEET_KEY), "{said}");
    }
    // SFCRED_CACHE_KEY alone stands in for the kept fleet key: another key opens nothing.
    let other = Run::of(
        machines[2]
            .saved(&env)
            .args(["token", "--refresh"])
            .env("SFCRED_CACHE_KEY", OTHER_FLEET_KEY)
            .output_within(TIMEOUT)
            .unwrap(),
    )
    .success();
    assert!(
        other.stderr.contains("does not open with this fleet key"),
        "SFCRED_CACHE_KEY was used: {other:?}"
    );
    let shared = finished(machines[1].saved(&env).args(["doctor", "--offline", "--json"]))
        .doctor_check("shared cache");
    assert_eq!(shared["status"], "warn", "the other key sealed the fleet's token: {shared}");
    // Logging out revokes the fleet's token, takes it out of Redis (only the login counts
    // stay), and removes the shared cache's secrets with the rest.
    let out = Run::of(
        machines[2]
            .saved(&env)
            .args(["logout"])
            .env("SFCRED_CACHE_KEY", OTHER_FLEET_KEY)
            .output_within(TIMEOUT)
            .unwrap(),
    )
    .success();
    assert!(out.stderr.contains("revoked its token"), "{out:?}");
    let left = redis.values(Some(ENCODED));
    assert!(left.iter().all(|v| String::from_utf8_lossy(v).parse::<u32>().is_ok()), "{left:?}");
    assert_eq!(env.secret_service_lookup("default/redis-password"), None);
    assert_eq!(env.secret_service_lookup("default/fleet-key"), None);
}

/// A `cache_url` the settings cannot use (not a URL, or one holding its password) is a
/// warning for its own profile, which mints alone, and fails no other profile.
#[test]
fn a_bad_cache_url_fails_no_token() {
    let env = TestEnv::new();
    let mut args = env.login_args("plain");
    args.push("--no-verify".into());
    env.run(&args).success();
    let mut args = env.login_args("fleet");
    // Verified: login checks the Redis it sets up, as the check's login is counted there.
    args.extend(["--cache-url", "redis://127.0.0.1:1"].map(String::from));
    let run = finished(env.sfcred().args(&args).env("SFCRED_CACHE_KEY", FLEET_KEY));
    assert!(
        run.success().stderr.contains("this machine mints for itself"),
        "login says Redis does not answer"
    );
    let settings_path = env.path("config/sfcred/config.toml");
    let settings = std::fs::read_to_string(&settings_path).unwrap();
    for bad in ["not a url", "redis://:hunter2/x@127.0.0.1:1"] {
        std::fs::write(&settings_path, settings.replace("redis://127.0.0.1:1", bad)).unwrap();
        env.run(&["token", "--profile", "plain", "--format", "token"]).success();
        let fleet = env.run(&["token", "--profile", "fleet", "--format", "token", "--refresh"]).success();
        assert!(
            fleet.stderr.contains("cache_url") && fleet.stderr.contains("going on without it"),
            "{fleet:?}"
        );
        assert!(!fleet.stderr.contains("hunter2"), "{fleet:?}");
    }
}

/// `rediss://`: Redis's TLS, its server certificate checked against the CAs sfcred trusts
/// (SSL_CERT_FILE here, a private CA); a Redis whose certificate is not trusted is a warning
/// and a mint on this machine, never a failure.
#[test]
fn rediss_checks_the_server_s_certificate() {
    let env = TestEnv::without_keychain();
    let certificate = sfcred_stand_in::tls::LoopbackCertificate::new().unwrap();
    let files = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = files.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let (ca, cert, key) = (
        file("ca.pem", &certificate.ca_pem),
        file("redis.pem", &certificate.certificate_pem),
        file("redis.key", &certificate.key_pem),
    );
    let port = free_port();
    let tls = [
        "--tls-port",
        &port.to_string(),
        "--tls-cert-file",
        &cert,
        "--tls-key-file",
        &key,
        "--tls-ca-cert-file",
        &ca,
        "--tls-auth-clients",
        "no",
    ];
    let _redis = Redis::start(&tls);
    let url = format!("rediss://127.0.0.1:{port}");
    let token = |machine: &Machine, trust: Option<&str>| {
        let mut command = machine.sfcred(&env, &url, FLEET_KEY);
        if let Some(ca) = trust {
            command.env("SSL_CERT_FILE", ca);
        }
        finished(command.args(["-v", "token", "--format", "token"])).success()
    };
    let (first, second, untrusting) = (Machine::new(), Machine::new(), Machine::new());
    let minted = token(&first, Some(&ca));
    let served = token(&second, Some(&ca));
    assert_eq!(served.stdout, minted.stdout);
    assert!(served.stderr.contains("from the shared cache"), "{served:?}");
    assert_eq!(env.stand_in.token_requests(), 1, "the second machine was served over TLS");
    let alone = token(&untrusting, None);
    assert!(alone.stderr.contains("warning") && alone.stderr.contains("rediss://127.0.0.1"), "{alone:?}");
    assert_eq!(env.stand_in.token_requests(), 2, "an untrusted Redis: this machine minted for itself");
}

/// The fleet's logins are counted in Redis, so a machine that has minted once warns of the
/// whole fleet's hour past 80 % of Salesforce's limit.
#[test]
fn the_fleet_s_logins_are_counted_in_redis_and_warned_of_past_80_percent() {
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&[]);
    let token = |machine: &Machine, args: &[&str]| {
        finished(machine.sfcred(&env, &redis.url(), FLEET_KEY).args(args)).success()
    };
    let (first, second) = (Machine::new(), Machine::new());
    let quiet = token(&first, &["token"]);
    assert!(!quiet.stderr.contains("warning"), "{quiet:?}");
    // Other machines' 2,879 logins this minute, as Redis would hold them.
    let mut connection = redis::Client::open(redis.url()).unwrap().get_connection().unwrap();
    let counts: Vec<String> = redis::cmd("KEYS").arg("sfcred:*:logins:*").query(&mut connection).unwrap();
    assert_eq!(counts.len(), 1, "one minute counted: {counts:?}");
    redis::cmd("INCRBY").arg(&counts[0]).arg(2879).query::<i64>(&mut connection).unwrap();
    let warned = token(&second, &["-v", "token", "--refresh"]);
    assert!(
        warned.stderr.contains("2881 logins this hour for ops@acme.test")
            && warned.stderr.contains("from the fleet, of the 3600"),
        "{warned:?}"
    );
    assert_eq!(env.stand_in.token_requests(), 2);
}

/// The ACL docs/ci.md gives sfcred's Redis user, set on a real redis-server whose default
/// user is off: every command the fleet sends (the look, the lock and its release by
/// script, the seal, the login count, doctor's ping) is allowed, and nothing warns.
#[test]
fn the_acl_docs_ci_md_gives_is_all_sfcred_needs() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/ci.md")).unwrap();
    let acl = doc.split("`ACL SETUSER ").nth(1).expect("docs/ci.md gives an ACL").split('`').next().unwrap();
    let acl: Vec<&str> =
        acl.split_whitespace().map(|word| if word == ">PASSWORD" { ">acl-pass-77" } else { word }).collect();
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&[]);
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &redis.port.to_string()])
            .args(args)
            .output_within(TIMEOUT)
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "OK", "redis-cli {args:?}");
    };
    cli(&[&["ACL", "SETUSER"][..], &acl].concat());
    cli(&["ACL", "SETUSER", "default", "off"]);
    let url = format!("redis://{}:acl-pass-77@127.0.0.1:{}", acl[0], redis.port);
    let machines: Vec<Machine> = (0..2).map(|_| Machine::new()).collect();
    env.stand_in.queue_behaviours(&[Behaviour::Gated]);
    let runs = crowd(&env, &machines, 10, &url, FLEET_KEY, || {
        env.stand_in.wait_for_token_requests(1, TIMEOUT);
        env.stand_in.open_gate();
    });
    one_token(&runs);
    assert!(runs.iter().all(|r| !r.stderr.contains("warning")), "the ACL refused something: {runs:?}");
    assert_eq!(env.stand_in.token_requests(), 1);
    let doctor = finished(machines[0].sfcred(&env, &url, FLEET_KEY).args(["doctor", "--offline", "--json"]));
    let shared = doctor.success().doctor_check("shared cache");
    assert_eq!(shared["status"], "ok", "{shared}");
    // A count the ACL refused would only be said with -v.
    let counted =
        finished(machines[1].sfcred(&env, &url, FLEET_KEY).args(["-v", "token", "--refresh"])).success();
    assert!(counted.stderr.contains("from the fleet: 2 of 3600"), "{counted:?}");
    assert!(!counted.stderr.contains("warning"), "a lock left held, or a refused command: {counted:?}");
}

/// A token a caller saw rejected (`invalidate`, git's `erase`) or that logout revoked is
/// taken out of the fleet's cache too, so no machine is served it again; a newer token that
/// another machine put there meanwhile stays.
#[test]
fn a_rejected_or_revoked_token_leaves_the_fleet_s_cache() {
    let env = TestEnv::without_keychain();
    let redis = Redis::start(&[]);
    let sfcred = |machine: &Machine, args: &[&str]| {
        finished(machine.sfcred(&env, &redis.url(), FLEET_KEY).args(args)).success()
    };
    let machines: Vec<Machine> = (0..4).map(|_| Machine::new()).collect();
    let token = |machine: &Machine| sfcred(machine, &["token", "--format", "token"]).stdout;
    let first = token(&machines[0]);
    assert_eq!(token(&machines[1]), first, "served from the fleet");
    sfcred(&machines[1], &["invalidate"]);
    let second = token(&machines[2]);
    assert_ne!(second, first, "the rejected token is not served again");
    assert_eq!(env.stand_in.token_requests(), 2);

    // Machine 0 still holds the first token; the fleet holds the second, which stays.
    sfcred(&machines[0], &["invalidate"]);
    assert_eq!(token(&machines[3]), second, "a newer token stays for the fleet");
    assert_eq!(env.stand_in.token_requests(), 2);

    // A revocation kills the fleet's token at Salesforce: it leaves Redis with it.
    sfcred(&machines[3], &["invalidate", "--revoke"]);
    assert_eq!(env.stand_in.revocations(), 1);
    let third = token(&Machine::new());
    assert_ne!(third, second, "a revoked token is not served");
    assert_eq!(env.stand_in.token_requests(), 3);
}
