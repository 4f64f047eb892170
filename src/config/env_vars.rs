//! Every environment variable sfcred reads, in one list: its name, what it means and its
//! default. [`crate::config::context::Context`] reads them once, at start; docs/reference.md's table is
//! generated from this list (and checked by a test).

/// One environment variable.
#[derive(Debug)]
pub struct EnvVar {
    pub name: &'static str,
    pub meaning: &'static str,
    pub default: &'static str,
}

macro_rules! env_vars {
    ($($id:ident = $name:literal, $meaning:literal, $default:literal;)*) => {
        $(pub const $id: EnvVar = EnvVar { name: $name, meaning: $meaning, default: $default };)*
        /// Every variable, in the order docs/reference.md lists them.
        pub const ALL: &[EnvVar] = &[$($id),*];
    };
}

env_vars! {
    PROFILE = "SFCRED_PROFILE", "The profile when `--profile` is not given (before the one `sfcred use` chose)", "the one `sfcred use` chose, else `default`";
    STORE = "SFCRED_STORE", "The keychain store for this command, overriding the profile's `store` (and `--store`'s default)", "the profile's, else the platform's";
    CONFIG_DIR = "SFCRED_CONFIG_DIR", "The directory of `config.toml` and the certificate copies", "`$XDG_CONFIG_HOME/sfcred`, else `%APPDATA%\\sfcred` on Windows, else `~/.config/sfcred`";
    CACHE_DIR = "SFCRED_CACHE_DIR", "The token cache and lock directory", "`$XDG_RUNTIME_DIR/sfcred`, else `$XDG_CACHE_HOME/sfcred`, else `%LOCALAPPDATA%\\sfcred` on Windows, else `~/.cache/sfcred`";
    LOCK_TIMEOUT = "SFCRED_LOCK_TIMEOUT", "How long to wait for another process's refresh of the same profile", "`60s`";
    KEYCHAIN_TIMEOUT = "SFCRED_KEYCHAIN_TIMEOUT", "How long to wait for the keychain, or a PKCS#11 token, to answer a call", "`20s`";
    CLIENT_ID = "SFCRED_CLIENT_ID", "The consumer key; when set, the environment is the profile and the settings file is not read", "unset";
    USERNAME = "SFCRED_USERNAME", "The Salesforce username of the environment's profile", "required with `SFCRED_CLIENT_ID`";
    PRIVATE_KEY = "SFCRED_PRIVATE_KEY", "The environment profile's RSA private key, PEM text", "unset";
    PRIVATE_KEY_FILE = "SFCRED_PRIVATE_KEY_FILE", "A file holding the environment profile's private key (PEM), when `SFCRED_PRIVATE_KEY` is unset", "unset";
    PKCS11_URI = "SFCRED_PKCS11_URI", "The environment profile's key on a PKCS#11 token (RFC 7512 URI), instead of `SFCRED_PRIVATE_KEY`", "unset";
    PKCS11_PIN = "SFCRED_PKCS11_PIN", "The PIN of a profile's PKCS#11 token, when its URI gives none", "the PIN login stored, if any";
    LOGIN_URL = "SFCRED_LOGIN_URL", "The environment profile's login URL", "`https://login.salesforce.com`";
    CACHE_URL = "SFCRED_CACHE_URL", "A Redis shared by a fleet of machines, in front of which each keeps its own cache: `redis://[user:password@]host:port`, `rediss://` for TLS; several URLs, comma-separated, are a Redis Cluster's nodes", "unset: each machine alone";
    CACHE_KEY = "SFCRED_CACHE_KEY", "The fleet's secret (at least 32 bytes of text, like `openssl rand -base64 32`) that seals tokens in the shared cache; Redis never sees it; it stands in for the one a profile's login kept", "required with `SFCRED_CACHE_URL`, unless the profile keeps one (`login --cache redis`)";
    SANDBOX = "SFCRED_SANDBOX", "`1` logs the environment's profile in to a sandbox (`https://test.salesforce.com`)", "unset";
    XDG_CONFIG_HOME = "XDG_CONFIG_HOME", "The base of the settings directory", "`~/.config`";
    XDG_RUNTIME_DIR = "XDG_RUNTIME_DIR", "The base of the token cache (memory-backed, per login)", "set by the login session";
    XDG_CACHE_HOME = "XDG_CACHE_HOME", "The base of the token cache when there is no runtime directory", "`~/.cache`";
    HOME = "HOME", "The home directory, for the defaults above and `import` (on Windows, `import` takes `USERPROFILE` first)", "set by the system";
    APPDATA = "APPDATA", "The base of the settings directory on Windows", "set by Windows";
    LOCALAPPDATA = "LOCALAPPDATA", "The base of the token cache on Windows", "set by Windows";
    USERPROFILE = "USERPROFILE", "The home directory on Windows, where `import` looks for the Salesforce CLI's `.sfdx`", "set by Windows";
    HTTPS_PROXY = "HTTPS_PROXY", "A proxy for the token endpoint (read by the HTTP client; also `https_proxy`, `ALL_PROXY`)", "none";
    NO_PROXY = "NO_PROXY", "Hosts reached without the proxy (read by the HTTP client)", "none";
    SSL_CERT_FILE = "SSL_CERT_FILE", "A PEM bundle of trusted CAs, which replaces the OS trust store on every platform", "the OS trust store";
    SSL_CERT_DIR = "SSL_CERT_DIR", "Directories of PEM files of trusted CAs (a path list: `:`, or `;` on Windows), which replace the OS trust store on every platform (with `SSL_CERT_FILE`, both are trusted; a file there that cannot be read is skipped with a warning)", "the OS trust store";
    NO_COLOR = "NO_COLOR", "Any value turns colour off (no-color.org)", "unset";
    BROWSER = "BROWSER", "The command `sfcred open` opens the org with, when `--browser` is not given, read as `--browser` is; on Unix a `:`-separated list, of which the first command whose program exists runs", "the platform's opener";
    SHELL = "SHELL", "The shell `sfcred env` prints for without `--shell`", "bash; PowerShell on Windows";
    KUBERNETES_EXEC_INFO = "KUBERNETES_EXEC_INFO", "The caller's ExecCredential request (`token --format exec-credential`)", "`client.authentication.k8s.io/v1`";
    COMPLETE = "COMPLETE", "Set by the shell completion scripts when they ask sfcred for candidates", "unset";
}

/// docs/reference.md's table of the variables above.
pub fn markdown_table() -> String {
    let mut out = String::from("| variable | what it sets | default |\n|---|---|---|\n");
    for var in ALL {
        out.push_str(&format!("| `{}` | {} | {} |\n", var.name, var.meaning, var.default));
    }
    out
}

/// The variables that lead to the private key (the key, its file, a token's URI that may hold
/// a PIN, the PIN) or into the fleet's cache (its Redis URL, which may hold the password, and
/// the fleet key, with which anyone could seal a token for the whole fleet): `sfcred exec`
/// removes them from its child's environment, which gets the token instead. The consumer key
/// and the username stay, so that an sfcred the child runs still finds the same environment
/// profile and its cached token.
pub const SECRETS: &[EnvVar] = &[PRIVATE_KEY, PRIVATE_KEY_FILE, PKCS11_URI, PKCS11_PIN, CACHE_URL, CACHE_KEY];

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = super::ALL.iter().map(|v| v.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), super::ALL.len());
    }
}
