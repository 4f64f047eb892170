//! `sfcred profiles`: every profile's settings and token state (never a secret).

use std::time::SystemTime;

use crate::config::context::Context;
use crate::config::profile::{CacheKind, Profile, format_duration};
use crate::error::Error;
use crate::stores::settings::Settings;
use crate::stores::tokens;
use crate::token::rfc3339;

/// A cell is cut to this many characters, so one odd value cannot flood the table.
const MAX_CELL_CHARS: usize = 200;

pub fn run(ctx: &Context, json: bool) -> Result<super::Outcome, Error> {
    let settings = Settings::load(ctx.config_dir()?)?;
    let now = SystemTime::now();
    let mut listed = Vec::new();
    for profile in settings.profiles() {
        let valid_until =
            tokens::cached(ctx, profile)?.filter(|t| !t.remaining(now).is_zero()).map(|t| t.expires_at);
        listed.push((profile, valid_until));
    }
    // The fleet's Redis, for every profile or a profile's own, shown without its password.
    use crate::stores::shared::redacted_urls;
    let shared =
        ctx.shared_cache.as_ref().map(|config| redacted_urls(config.urls.iter().map(String::as_str)));
    let shared_of = |p: &Profile| {
        let own = p.cache_url.as_deref().filter(|_| p.cache == CacheKind::Redis);
        shared.clone().or_else(|| own.map(|text| redacted_urls(text.split(','))))
    };
    if json {
        let default = settings.default_profile();
        let mut list: Vec<_> = listed
            .iter()
            .map(|(p, until)| {
                let mut json = profile_json(p, *until, default == Some(&p.name));
                json["shared_cache"] = shared_of(p).into();
                json
            })
            .collect();
        list.extend(settings.keys_only().map(|(name, key)| {
            serde_json::json!({ "profile": name, "key_only": true, "store": key.store.name(), "key": key_location(key.pkcs11.as_ref()) })
        }));
        super::print(&format!("{}\n", serde_json::Value::Array(list)))?;
        return Ok(super::Outcome::Done);
    }
    if listed.is_empty() && settings.keys_only().next().is_none() {
        crate::base::diag::status("no profiles yet; add one with: sfcred login");
        return Ok(super::Outcome::Done);
    }
    let header = ["  PROFILE", "USERNAME", "LOGIN URL", "AUDIENCE", "TTL", "STORE", "KEY", "CACHE", "TOKEN"]
        .map(String::from);
    let rows = listed.iter().map(|(p, until)| {
        [
            // The default profile is marked as git marks the current branch.
            match settings.default_profile() == Some(&p.name) {
                true => format!("* {}", p.name),
                false => format!("  {}", p.name),
            },
            p.username.clone(),
            p.login_url.to_string(),
            p.audience.clone(),
            format_duration(p.ttl),
            p.store.to_string(),
            key_location(p.pkcs11.as_ref()),
            match shared_of(p) {
                Some(url) => format!("redis {url}"),
                None => p.cache.to_string(),
            },
            until.map_or("none".into(), |t| format!("valid until {}", rfc3339(t))),
        ]
    });
    // A key keygen made for a profile no one has logged in to yet.
    let keys_only = settings.keys_only().map(|(name, key)| {
        let none = || "-".to_owned();
        [
            format!("  {name}"),
            none(),
            none(),
            none(),
            none(),
            key.store.to_string(),
            key_location(key.pkcs11.as_ref()),
            none(),
            "key only, not logged in".into(),
        ]
    });
    let rows = rows
        .chain(keys_only)
        .map(|row| row.map(|cell| crate::base::diag::printable(&cell, MAX_CELL_CHARS).replace('\n', "\\n")));
    super::print(&table(std::iter::once(header).chain(rows).collect()))?;
    if let Some(shared) = shared {
        crate::base::diag::status(&format!(
            "every profile shares tokens with the fleet through {shared} (SFCRED_CACHE_URL)"
        ));
    }
    Ok(super::Outcome::Done)
}

fn profile_json(p: &Profile, valid_until: Option<SystemTime>, default: bool) -> serde_json::Value {
    serde_json::json!({
        "profile": p.name,
        "default": default,
        "username": p.username,
        "login_url": p.login_url.as_str(),
        "audience": p.audience,
        "ttl": format_duration(p.ttl),
        "store": p.store.name(),
        "key": key_location(p.pkcs11.as_ref()),
        "cache": p.cache,
        "token_valid_until": valid_until.map(rfc3339),
    })
}

/// Where the private key lives: the keychain, or the token's URI (never its PIN).
fn key_location(pkcs11: Option<&crate::keys::pkcs11_uri::Pkcs11Uri>) -> String {
    pkcs11.map_or_else(|| "keychain".to_owned(), ToString::to_string)
}

/// Left-aligned columns two spaces apart. Padding is written out, not left to `format!`
/// width, which stops at 65,535.
fn table<const N: usize>(rows: Vec<[String; N]>) -> String {
    let mut widths = [0; N];
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (cell, width) in row.iter().zip(widths) {
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', width - cell.chars().count() + 2));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_at_any_width() {
        let wide = "u".repeat(70_000);
        let out = super::table(vec![["A".to_owned(), "B".to_owned()], [wide.clone(), "x".to_owned()]]);
        assert_eq!(out, format!("A{}B\n{wide}  x\n", " ".repeat(70_001)));
    }
}
