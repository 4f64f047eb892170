//! The command line, defined once: the binary parses it, and the man pages and shell
//! completions are generated from it. Each command's arguments become that command's
//! plain options here, so nothing below this module knows clap.

use std::path::PathBuf;
use std::str::FromStr;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use clap_complete::engine::{ArgValueCandidates, CompletionCandidate};
use clap_complete::env::{Bash, Elvish, EnvCompleter, Fish, Powershell, Shells, Zsh};
use secrecy::SecretString;

use crate::commands;
use crate::commands::login::KeySource;
use crate::commands::token::Format;
use crate::config::env_vars;
use crate::config::profile::{CacheKind, StoreKind};
use crate::keys::keygen::KeyBits;
use crate::keys::pkcs11_uri::UriText;
use crate::protocols::env::Shell;
use crate::protocols::git::Operation;

#[derive(Debug, Parser)]
#[command(
    name = "sfcred",
    version,
    about = "Salesforce access tokens on demand, from keys kept in the OS keychain",
    long_about = "sfcred signs in to Salesforce with the OAuth 2.0 JWT bearer flow. It keeps the \
                  private key and the consumer key in the OS keychain and prints access tokens for \
                  scripts and tools.",
    after_help = "Exit codes: 0 ok, 1 other error (or a failing doctor check), 2 usage, 3 not logged in, \
                  4 refused by Salesforce, 5 network or server, 6 keychain. exec exits with its \
                  command's code (127: not found, 126: cannot run)."
)]
pub struct Cli {
    /// Say on stderr what sfcred does and why: a cached token or a new one, the HTTP exchange (without the assertion or token), why git's helper stays silent
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

// Deferred: each subcommand's arguments are built only when it runs, which keeps
// parsing off the cache-hit path's budget.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Store a profile's secrets in the keychain, after checking them with Salesforce
    #[command(after_help = LOGIN_EXAMPLES)]
    Login(LoginArgs),
    /// Make an RSA key (into the keychain or onto a token) and a certificate for the app
    Keygen(KeygenArgs),
    /// Check a profile's setup, one line per check, with what to do about each problem
    #[command(
        after_help = "Examples:\n  sfcred doctor\n  sfcred doctor --profile uat --offline     # no network checks\n  sfcred doctor --json | jq '.[] | select(.status != \"ok\")'"
    )]
    Doctor(DoctorArgs),
    /// Make a profile from a Salesforce CLI JWT login (sf org login jwt), its key read once into the keychain
    Import(ImportArgs),
    /// Write an External Client App for the profile (Salesforce DX source) to deploy with the Salesforce CLI
    Eca(EcaArgs),
    /// Replace a live profile's key with no outage: start, status, finish, abort
    #[command(subcommand)]
    Rotate(RotateCommand),
    /// Print an access token for a profile, from the cache while it stays valid
    #[command(after_help = TOKEN_EXAMPLES)]
    Token(TokenArgs),
    /// Drop a profile's cached token (after a caller saw it rejected with HTTP 401)
    Invalidate(InvalidateArgs),
    /// Answer one JSON request on stdin with a token on stdout (a stable, versioned protocol)
    #[command(long_about = CREDENTIAL_PROTOCOL)]
    Credential(CredentialArgs),
    /// git's credential-helper protocol: set credential.helper to "!sfcred git-credential"
    #[command(long_about = GIT_PROTOCOL)]
    GitCredential(GitCredentialArgs),
    /// Run a command with the token in SF_ACCESS_TOKEN, SF_TARGET_ORG and friends
    // The usage is written out because clap_mangen's synopsis leaves out the `--`.
    #[command(
        override_usage = "sfcred exec [OPTIONS] -- <COMMAND>...",
        after_help = "Everything after -- is the command and its arguments.\n\nExamples:\n  sfcred exec -- sf data query --query \"SELECT Id FROM Account LIMIT 1\"\n  sfcred exec --profile uat -- sh -c 'curl -fsS -H \"Authorization: Bearer $SF_ACCESS_TOKEN\" \"$SF_ORG_INSTANCE_URL/services/data/v62.0/\"'"
    )]
    Exec(ExecArgs),
    /// Print the token variables of `exec` as export lines for a shell
    #[command(
        after_help = "Examples:\n  eval \"$(sfcred env)\"                          # bash, zsh\n  sfcred env --shell fish | source\n  sfcred env --shell powershell | Invoke-Expression"
    )]
    Env(EnvArgs),
    /// Open the org in a browser with a single-use link (the token stays out of every URL)
    #[command(
        after_help = "Examples:\n  sfcred open\n  sfcred open --profile uat --path /lightning/setup/SetupOneHome/home\n  sfcred open --url-only             # print the link (it works once, for a few minutes)\n  sfcred open --browser 'firefox --private-window'"
    )]
    Open(OpenArgs),
    /// Revoke a profile's cached token, then remove its secrets and settings
    Logout(LogoutArgs),
    /// List profiles and their settings (never secrets); the default one is marked
    Profiles(ProfilesArgs),
    /// Make PROFILE the default: the one every command uses without --profile
    #[command(after_help = "Examples:\n  sfcred use prod\n  sfcred token --format token     # prod's token")]
    Use(UseArgs),
    /// Record the app's certificate for a profile (it must be its key's), for doctor and expiry warnings
    Certificate(CertificateArgs),
    /// Print the completion script for a shell: bash, zsh, fish, powershell or elvish
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Write the man pages (sfcred(1) and one per command) into a directory, or print sfcred(1)
    Man(ManArgs),
}

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  sfcred completions bash > ~/.local/share/bash-completion/completions/sfcred   # needs the bash-completion package
  sfcred completions zsh > ~/.zfunc/_sfcred                                     # a directory in fpath
  sfcred completions fish > ~/.config/fish/completions/sfcred.fish
  sfcred completions elvish >> ~/.config/elvish/rc.elv
  sfcred completions powershell >> $PROFILE

The scripts complete profile names too, asking sfcred at each TAB.";

const LOGIN_EXAMPLES: &str = "\
Examples:
  sfcred login --profile prod --username you@example.com --client-id 3MVG9...   # the key keygen made
  sfcred login --profile uat --sandbox --username you@example.com.uat --key-file uat.key
  sfcred login --profile acme --login-url https://acme.my.salesforce.com --username you@acme.com";

const TOKEN_EXAMPLES: &str = "\
Examples:
  curl -H \"Authorization: Bearer $(sfcred token --format token)\" \"$SF_ORG_INSTANCE_URL/services/data/v62.0/\"
  sfcred token --profile uat --min-valid 10m     # a token that lasts 10 more minutes at least
  sfcred token --refresh                         # a new one, after a caller saw this one rejected";

const CREDENTIAL_PROTOCOL: &str = "\
Answer one JSON request on stdin with one JSON response on stdout. This is sfcred's \
stable protocol for programs, version 1: fields may be added, never changed or removed.

Request (at most 64 KiB; every field optional; empty input means all defaults; unknown \
fields are ignored): {\"v\":1,\"profile\":\"prod\",\"min_valid_secs\":300,\"refresh\":false}

Success (exit 0): {\"v\":1,\"access_token\":...,\"token_type\":...,\"instance_url\":...,\"id\":...,\
\"scope\":...,\"issued_at\":...,\"expires_at\":...,\"username\":...,\"profile\":...}, the fields of \
`sfcred token`, times in RFC 3339.

Failure (the exit code of the error's class): {\"v\":1,\"error\":{\"kind\":...,\"message\":...,\"hint\":...}} \
where kind is bad_request, not_logged_in, rejected, unavailable, keychain or other. An unsupported \
v is a bad_request whose message names the versions supported.";

const GIT_PROTOCOL: &str = "\
git's credential-helper protocol (gitcredentials(7)). Configure it with: git config --global \
credential.https://acme.my.salesforce.com.helper '!sfcred git-credential'

get answers username, password (the token) and password_expiry_utc for the profile whose \
instance or login host is git's host (or --profile); with capability[]=authtype it also answers \
authtype=Bearer, credential and ephemeral=true. No matching profile: it prints nothing, so git \
asks its next helper. erase drops the cached token git saw rejected; store does nothing.";

#[derive(Debug, Args)]
pub struct ProfileArg {
    /// The profile to use [default: the one `sfcred use` chose, else "default"; login and keygen make "default"]
    #[arg(
        long, short = 'p', env = env_vars::PROFILE.name, value_name = "NAME",
        add = ArgValueCandidates::new(profile_names)
    )]
    pub profile: Option<String>,
}

impl ProfileArg {
    /// The profile's name, once main has put the default in (`Command::profile_arg`).
    pub fn name(self) -> String {
        self.profile.expect("main fills in the default profile")
    }
}

impl Command {
    /// The command's `--profile`, for main to fill in the default profile when it is not given.
    pub fn profile_arg(&mut self) -> Option<&mut ProfileArg> {
        Some(match self {
            Command::Login(args) => &mut args.profile,
            Command::Keygen(args) => &mut args.profile,
            Command::Doctor(args) => &mut args.profile,
            Command::Eca(args) => &mut args.profile,
            Command::Rotate(RotateCommand::Start(args)) => &mut args.profile,
            Command::Rotate(RotateCommand::Finish(args) | RotateCommand::Abort(args)) => &mut args.profile,
            Command::Token(args) => &mut args.profile,
            Command::Invalidate(args) => &mut args.profile,
            Command::Credential(args) => &mut args.profile,
            Command::Exec(args) => &mut args.profile,
            Command::Env(args) => &mut args.profile,
            Command::Open(args) => &mut args.profile,
            Command::Logout(args) => &mut args.profile,
            Command::Certificate(args) => &mut args.profile,
            Command::Import(_)
            | Command::Rotate(RotateCommand::Status(_))
            | Command::GitCredential(_)
            | Command::Profiles(_)
            | Command::Use(_)
            | Command::Completions(_)
            | Command::Man(_) => return None,
        })
    }
}

/// Completes profile names from the settings at completion time.
fn profile_names() -> Vec<CompletionCandidate> {
    let ctx = crate::config::context::Context::from_env();
    let Ok(settings) = ctx.config_dir().map(|dir| crate::stores::settings::Settings::load(dir)) else {
        return Vec::new();
    };
    let Ok(settings) = settings else { return Vec::new() };
    let is_default = |name: &str| settings.default_profile() == Some(name);
    let logged_in = settings.profiles().map(|p| {
        let help = match is_default(&p.name) {
            true => format!("{} (the default)", p.username),
            false => p.username.clone(),
        };
        CompletionCandidate::new(&p.name).help(Some(help.into()))
    });
    let keys_only = settings
        .keys_only()
        .map(|(name, _)| CompletionCandidate::new(name).help(Some("key only, not logged in".into())));
    logged_in.chain(keys_only).collect()
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The Salesforce username to sign in as (the JWT `sub`)
    #[arg(long, value_name = "USERNAME")]
    pub username: Option<String>,
    /// The app's consumer key (the JWT `iss`); asked for, hidden, when omitted
    #[arg(long, value_name = "CONSUMER_KEY")]
    pub client_id: Option<String>,
    /// Read the RSA private key (PEM) from this file
    #[arg(long, value_name = "PATH", conflicts_with_all = ["key_stdin", "pkcs11"])]
    pub key_file: Option<PathBuf>,
    /// Read the RSA private key (PEM) from standard input
    #[arg(long, conflicts_with = "pkcs11")]
    pub key_stdin: bool,
    /// Use the key on a PKCS#11 token (YubiKey, TPM, HSM) that this RFC 7512 URI names; it stays there
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
    /// The app's certificate (PEM), so that doctor can check expiry and key match
    #[arg(long, value_name = "PATH")]
    pub cert: Option<PathBuf>,
    /// Log in to a sandbox (https://test.salesforce.com)
    #[arg(long, conflicts_with = "login_url")]
    pub sandbox: bool,
    /// Where to log in: https://login.salesforce.com (default), https://test.salesforce.com or a My Domain URL
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// The JWT audience; by default login.salesforce.com for production, test.salesforce.com for sandboxes
    #[arg(long, value_name = "URL")]
    pub audience: Option<String>,
    /// How long a token is trusted, like 90s, 30m or 2h (Salesforce does not say)
    #[arg(long, value_name = "DURATION", default_value = "30m")]
    pub ttl: String,
    /// Which keychain holds the secrets; keyutils forgets them at reboot
    #[arg(
        long, env = env_vars::STORE.name, value_name = "STORE", default_value_t = StoreKind::platform_default(),
        value_parser = stores()
    )]
    pub store: StoreKind,
    /// Where tokens are cached: a user-only file, the keychain, nowhere, or a file in front of
    /// the fleet's Redis [default: file, or redis with --cache-url]
    #[arg(long, value_name = "CACHE", value_parser = caches())]
    pub cache: Option<CacheKind>,
    /// The Redis the fleet shares, for --cache redis: redis://[USER@]HOST:PORT, rediss:// for TLS,
    /// a cluster's nodes comma-separated; its password is asked for (or comes with
    /// SFCRED_CACHE_URL) and kept in the keychain
    #[arg(long, value_name = "URL")]
    pub cache_url: Option<String>,
    /// Save without checking the setup with Salesforce first
    #[arg(long)]
    pub no_verify: bool,
    /// Never prompt: a missing value is an error
    #[arg(long)]
    pub no_input: bool,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// What to print
    #[arg(long, default_value_t = Format::Json, value_name = "FORMAT", value_parser = formats())]
    pub format: Format,
    /// Serve a cached token only if it stays valid this long, like 60s or 10m
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub min_valid: String,
    /// Mint a new token even if the cached one is still good
    #[arg(long)]
    pub refresh: bool,
}

#[derive(Debug, Args)]
pub struct OpenArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// A path on the org to land on, like /lightning/setup/SetupOneHome/home
    #[arg(long, value_name = "PATH")]
    pub path: Option<String>,
    /// Print the single-use link instead of opening it
    #[arg(long)]
    pub url_only: bool,
    /// The command that opens the link (the link is its last argument, or replaces %s);
    /// by default BROWSER, else the platform's opener
    #[arg(long, value_name = "CMD")]
    pub browser: Option<String>,
}

#[derive(Debug, Args)]
pub struct CredentialArgs {
    /// The profile when the request names none
    #[command(flatten)]
    pub profile: ProfileArg,
}

#[derive(Debug, Args)]
pub struct KeygenArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The key size
    #[arg(long, default_value = "2048", value_name = "BITS", value_parser = key_sizes())]
    pub bits: KeyBits,
    /// How many days the certificate is valid
    #[arg(long, default_value_t = 365, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// The certificate's common name (default: sfcred PROFILE)
    #[arg(long, value_name = "NAME")]
    pub cn: Option<String>,
    /// Where to write the certificate to upload (default: PROFILE.crt here)
    #[arg(long, value_name = "PATH")]
    pub cert_out: Option<PathBuf>,
    /// Also write the private key to this file (0600); by default it exists only in the keychain
    #[arg(long, value_name = "PATH", conflicts_with = "pkcs11")]
    pub key_out: Option<PathBuf>,
    /// Make the key on the PKCS#11 token this RFC 7512 URI names (it never leaves the token)
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
    /// Which keychain to store the key in
    #[arg(
        long, env = env_vars::STORE.name, value_name = "STORE", default_value_t = StoreKind::platform_default(),
        value_parser = stores()
    )]
    pub store: StoreKind,
    /// Replace a key the profile already has
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Salesforce CLI login to import: an alias or a username
    #[arg(long, value_name = "ALIAS_OR_USERNAME")]
    pub from_sf: String,
    /// The profile to make (default: the alias)
    #[arg(long, short = 'p', value_name = "NAME")]
    pub profile: Option<String>,
    /// The private key (PEM), when the file the CLI remembers is gone
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
    /// Which keychain holds the secrets
    #[arg(
        long, env = env_vars::STORE.name, value_name = "STORE", default_value_t = StoreKind::platform_default(),
        value_parser = stores()
    )]
    pub store: StoreKind,
}

impl From<ImportArgs> for commands::import::Options {
    fn from(args: ImportArgs) -> Self {
        commands::import::Options {
            from_sf: args.from_sf,
            profile: args.profile,
            key_file: args.key_file,
            store: args.store,
        }
    }
}

#[derive(Debug, Args)]
pub struct EcaArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The app's API name (letters, digits and single underscores)
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// The project directory (default: NAME here); an existing project keeps its package directory
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// OAuth scopes besides api, like refresh_token,web
    #[arg(long, value_name = "SCOPES", default_value = "api")]
    pub scopes: String,
    /// The app's contact email (default: the profile's username)
    #[arg(long, value_name = "EMAIL")]
    pub contact_email: Option<String>,
    /// The keychain where keygen stored the key of a profile not logged in yet
    #[arg(
        long, env = env_vars::STORE.name, value_name = "STORE", default_value_t = StoreKind::platform_default(),
        value_parser = stores()
    )]
    pub store: StoreKind,
    /// Replace the app's files if they exist
    #[arg(long)]
    pub force: bool,
    /// Make the app issue JWT-based access tokens, which say when they expire
    #[arg(long)]
    pub jwt_tokens: bool,
    /// How long those tokens live: 5m, 10m, 15m, 30m, 1h, 90m, 2h, 4h, 8h or 12h
    /// (by default the user's session)
    #[arg(long, value_name = "DURATION", requires = "jwt_tokens")]
    pub jwt_timeout: Option<String>,
}

impl From<EcaArgs> for commands::eca::Options {
    fn from(args: EcaArgs) -> Self {
        commands::eca::Options {
            profile: args.profile.name(),
            name: args.name,
            out: args.out,
            scopes: args.scopes,
            contact_email: args.contact_email,
            store: args.store,
            force: args.force,
            jwt_tokens: args.jwt_tokens,
            jwt_timeout: args.jwt_timeout,
        }
    }
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum RotateCommand {
    /// Make the profile's next key (where the current one lives) and write its certificate for upload
    Start(RotateStartArgs),
    /// Each key's certificate, which key Salesforce last accepted and when, and what is left to do
    Status(RotateStatusArgs),
    /// Mint with the next key now and make it the current key, or say why not yet
    Finish(RotateProfileArgs),
    /// Drop the next key; the current one goes on as before
    Abort(RotateProfileArgs),
}

#[derive(Debug, Args)]
pub struct RotateStartArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Where to write the next key's certificate (default: PROFILE.next.crt here)
    #[arg(long, value_name = "PATH")]
    pub cert_out: Option<PathBuf>,
    /// The key size
    #[arg(long, default_value = "2048", value_name = "BITS", value_parser = key_sizes())]
    pub bits: KeyBits,
    /// How many days the certificate is valid
    #[arg(long, default_value_t = 365, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub days: u32,
    /// Make the next key on this PKCS#11 token (RFC 7512 URI) instead of where the current key lives
    #[arg(long, value_name = "URI")]
    pub pkcs11: Option<String>,
}

#[derive(Debug, Args)]
pub struct RotateStatusArgs {
    /// One profile (by default every profile)
    #[arg(long, short = 'p', value_name = "NAME", add = ArgValueCandidates::new(profile_names))]
    pub profile: Option<String>,
    /// Print JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RotateProfileArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Skip the checks that use the network
    #[arg(long)]
    pub offline: bool,
    /// Print the checks as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct GitCredentialArgs {
    /// What git asks
    #[arg(value_parser = git_operations())]
    pub operation: Operation,
    /// The profile to answer with; by default the one whose instance or login host is git's host
    #[arg(long, short = 'p', value_name = "NAME", add = ArgValueCandidates::new(profile_names))]
    pub profile: Option<String>,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The command and its arguments, after -- (so that its flags are never taken for sfcred's)
    #[arg(required = true, last = true, allow_hyphen_values = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The shell to print for; by default the one in $SHELL
    #[arg(long, value_name = "SHELL", value_parser = shells())]
    pub shell: Option<Shell>,
}

#[derive(Debug, Args)]
pub struct InvalidateArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Also revoke the token at Salesforce (a failure to revoke is a warning)
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, Args)]
pub struct LogoutArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// Remove every profile (instead of one)
    #[arg(long)]
    pub all: bool,
    /// Do not revoke the cached token at Salesforce first
    #[arg(long)]
    pub no_revoke: bool,
    /// With --all, do not ask first (it asks only on a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CertificateArgs {
    #[command(flatten)]
    pub profile: ProfileArg,
    /// The certificate uploaded to the app (PEM)
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct UseArgs {
    #[arg(value_name = "PROFILE", add = ArgValueCandidates::new(profile_names))]
    pub profile: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_name = "SHELL", value_parser = PossibleValuesParser::new(COMPLETION_SHELLS.names()))]
    pub shell: String,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write every page into DIR (made if missing), instead of sfcred(1) to stdout
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The completer for a shell `CompletionsArgs` accepted.
pub fn completer(shell: &str) -> &'static dyn EnvCompleter {
    COMPLETION_SHELLS.completer(shell).expect("the parser accepts only these shells")
}

/// The shells `COMPLETE=SHELL sfcred` answers: clap_complete's own, but for zsh's script.
pub const COMPLETION_SHELLS: Shells<'static> = Shells(&[&Bash, &Elvish, &Fish, &Powershell, &ZshAutoload]);

/// clap_complete's zsh script only registers its completer with `compdef`, which is right
/// when the script is sourced. When compinit autoloads it from `fpath` as `_sfcred`, the
/// file is the body of the TAB's completion call, which must then also complete: else
/// the first TAB completes nothing.
struct ZshAutoload;

impl EnvCompleter for ZshAutoload {
    fn name(&self) -> &'static str {
        Zsh.name()
    }

    fn is(&self, name: &str) -> bool {
        Zsh.is(name)
    }

    fn write_registration(
        &self,
        var: &str,
        name: &str,
        bin: &str,
        completer: &str,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        let mut script = Vec::new();
        Zsh.write_registration(var, name, bin, completer, &mut script)?;
        let script = String::from_utf8(script).map_err(std::io::Error::other)?;
        let function = format!("_clap_dynamic_completer_{}", name.replace('-', "_"));
        let register = format!("compdef {function} {bin}\n");
        let body = script.strip_suffix(&register).ok_or_else(|| {
            std::io::Error::other("clap_complete's zsh script changed: update cli::ZshAutoload")
        })?;
        // Sourced (`file`) or eval'd, register; autoloaded as `_BIN`, complete this call too.
        write!(
            buf,
            "{body}if [[ $funcstack[1] == _{bin} && $zsh_eval_context[-1] != file ]]; then\n    \
             {function} \"$@\"\nelse\n    {register}fi\n"
        )
    }

    fn write_complete(
        &self,
        cmd: &mut clap::Command,
        args: Vec<std::ffi::OsString>,
        current_dir: Option<&std::path::Path>,
        buf: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        Zsh.write_complete(cmd, args, current_dir, buf)
    }
}

/// A parser that offers `values` (name, help) and yields the domain type they name.
fn choices<T>(
    values: impl IntoIterator<Item = (&'static str, Option<&'static str>)>,
) -> impl TypedValueParser<Value = T>
where
    T: FromStr + Clone + Send + Sync + 'static,
    T::Err: std::fmt::Debug,
{
    let values = values.into_iter().map(|(name, help)| PossibleValue::new(name).help(help));
    PossibleValuesParser::new(values).map(|name| name.parse::<T>().expect("every offered value parses"))
}

fn stores() -> impl TypedValueParser<Value = StoreKind> {
    choices(StoreKind::CHOICES.map(|kind| (kind.name(), Some(kind.about()))))
}

fn caches() -> impl TypedValueParser<Value = CacheKind> {
    // `keyring`, the keychain cache's name before, is still taken.
    let values = CacheKind::ALL.iter().map(|kind| match kind {
        CacheKind::Keychain => PossibleValue::new(kind.name()).help(kind.about()).alias("keyring"),
        _ => PossibleValue::new(kind.name()).help(kind.about()),
    });
    PossibleValuesParser::new(values).map(|name| match name.as_str() {
        "keyring" => CacheKind::Keychain,
        name => name.parse().expect("every offered value parses"),
    })
}

fn key_sizes() -> impl TypedValueParser<Value = KeyBits> {
    choices(KeyBits::ALL.iter().map(|bits| (bits.name(), Some(bits.about()))))
}

fn formats() -> impl TypedValueParser<Value = Format> {
    choices(Format::ALL.iter().map(|format| (format.name(), Some(format.about()))))
}

fn git_operations() -> impl TypedValueParser<Value = Operation> {
    choices(Operation::ALL.iter().map(|op| (op.name(), Some(op.about()))))
}

fn shells() -> impl TypedValueParser<Value = Shell> {
    choices(Shell::ALL.iter().map(|shell| (shell.name(), Some(shell.about()))))
}

impl From<LoginArgs> for commands::login::Options {
    fn from(args: LoginArgs) -> Self {
        let key = match (args.key_file, args.key_stdin, args.pkcs11) {
            (_, _, Some(uri)) => KeySource::Pkcs11(UriText(uri)),
            (_, true, None) => KeySource::Stdin,
            (Some(path), false, None) => KeySource::File(path),
            (None, false, None) => KeySource::Stored,
        };
        commands::login::Options {
            profile: args.profile.name(),
            username: args.username,
            client_id: args.client_id.map(|id| SecretString::from(id.trim().to_owned())),
            key,
            cert: args.cert,
            sandbox: args.sandbox,
            login_url: args.login_url,
            audience: args.audience,
            ttl: args.ttl,
            store: args.store,
            cache: args.cache.unwrap_or(match args.cache_url {
                Some(_) => CacheKind::Redis,
                None => CacheKind::File,
            }),
            cache_url: args.cache_url,
            verify: !args.no_verify,
            no_input: args.no_input,
        }
    }
}

impl From<KeygenArgs> for commands::keygen::Options {
    fn from(args: KeygenArgs) -> Self {
        commands::keygen::Options {
            profile: args.profile.name(),
            bits: args.bits,
            days: args.days,
            common_name: args.cn,
            cert_out: args.cert_out,
            key_out: args.key_out,
            store: args.store,
            pkcs11: args.pkcs11.map(UriText),
            force: args.force,
        }
    }
}

impl From<RotateStartArgs> for commands::rotate::StartOptions {
    fn from(args: RotateStartArgs) -> Self {
        commands::rotate::StartOptions {
            profile: args.profile.name(),
            cert_out: args.cert_out,
            bits: args.bits,
            days: args.days,
            pkcs11: args.pkcs11.map(UriText),
        }
    }
}

impl From<DoctorArgs> for commands::doctor::Options {
    fn from(args: DoctorArgs) -> Self {
        commands::doctor::Options { profile: args.profile.name(), offline: args.offline, json: args.json }
    }
}

impl From<TokenArgs> for commands::token::Options {
    fn from(args: TokenArgs) -> Self {
        commands::token::Options {
            profile: args.profile.name(),
            format: args.format,
            min_valid: args.min_valid,
            refresh: args.refresh,
        }
    }
}

impl From<OpenArgs> for commands::open::Options {
    fn from(args: OpenArgs) -> Self {
        commands::open::Options {
            profile: args.profile.name(),
            path: args.path,
            url_only: args.url_only,
            browser: args.browser,
        }
    }
}

impl From<GitCredentialArgs> for commands::git_credential::Options {
    fn from(args: GitCredentialArgs) -> Self {
        commands::git_credential::Options { operation: args.operation, profile: args.profile }
    }
}

impl From<ExecArgs> for commands::exec::Options {
    fn from(args: ExecArgs) -> Self {
        commands::exec::Options { profile: args.profile.name(), command: args.command }
    }
}

impl From<EnvArgs> for commands::env::Options {
    fn from(args: EnvArgs) -> Self {
        commands::env::Options { profile: args.profile.name(), shell: args.shell }
    }
}

impl From<LogoutArgs> for commands::logout::Options {
    fn from(args: LogoutArgs) -> Self {
        commands::logout::Options {
            profile: args.profile.name(),
            all: args.all,
            revoke: !args.no_revoke,
            yes: args.yes,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
