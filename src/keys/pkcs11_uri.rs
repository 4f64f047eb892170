//! PKCS#11 URIs (RFC 7512): which module, token and key object, e.g.
//! `pkcs11:token=sfcred;object=prod?module-path=/usr/lib/softhsm/libsofthsm2.so`.
//! Pure: parsing and printing, with the PIN (`pin-value`) never printed.

use std::fmt::Write;
use std::path::PathBuf;
use std::str::FromStr;

use secrecy::{ExposeSecret, SecretString};

/// A key on a PKCS#11 token, as a URI names it.
#[derive(Debug, Clone, Default)]
pub struct Pkcs11Uri {
    pub token: Option<String>,
    pub manufacturer: Option<String>,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub slot_id: Option<u64>,
    /// The key object's label (CKA_LABEL).
    pub object: Option<String>,
    /// The key object's CKA_ID.
    pub id: Option<Vec<u8>>,
    pub module_path: Option<PathBuf>,
    pub module_name: Option<String>,
    /// A PIN in the URI itself: honoured, never printed, never saved in settings.
    pub pin_value: Option<SecretString>,
    /// Where to read the PIN: a file path or `file:` URI.
    pub pin_source: Option<String>,
}

impl PartialEq for Pkcs11Uri {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
            && self.pin_value.as_ref().map(|p| p.expose_secret().to_owned())
                == other.pin_value.as_ref().map(|p| p.expose_secret().to_owned())
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid PKCS#11 URI: {reason}")]
pub struct UriError {
    pub reason: String,
}

fn invalid(reason: impl Into<String>) -> UriError {
    UriError { reason: reason.into() }
}

impl FromStr for Pkcs11Uri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<Self, UriError> {
        // A URI's scheme is case-insensitive (RFC 3986 §3.1).
        let text = text.trim();
        let rest = text
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("pkcs11:"))
            .map(|_| &text[7..])
            .ok_or_else(|| invalid("it must start with pkcs11: (RFC 7512), e.g. pkcs11:token=sfcred;object=prod?module-path=/usr/lib/softhsm/libsofthsm2.so"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut uri = Pkcs11Uri::default();
        for (name, value) in attributes(path, ';')? {
            let text = || decode_text(&value, &name);
            match name.as_str() {
                "token" => set(&mut uri.token, text()?, &name)?,
                "manufacturer" => set(&mut uri.manufacturer, text()?, &name)?,
                "serial" => set(&mut uri.serial, text()?, &name)?,
                "model" => set(&mut uri.model, text()?, &name)?,
                "object" => set(&mut uri.object, text()?, &name)?,
                "id" => set(&mut uri.id, decode(&value)?, &name)?,
                "slot-id" => {
                    let id = text()?.parse().map_err(|_| invalid("slot-id must be a number"))?;
                    set(&mut uri.slot_id, id, &name)?
                }
                "type" => match text()?.as_str() {
                    "private" => {}
                    other => {
                        return Err(invalid(format!(
                            "type={other}: sfcred signs with a private key (type=private)"
                        )));
                    }
                },
                // Informational attributes a URI may carry; they do not narrow the search here.
                "library-manufacturer"
                | "library-description"
                | "library-version"
                | "slot-description"
                | "slot-manufacturer" => {}
                other if other.starts_with("x-") => {}
                other => return Err(invalid(format!("unknown path attribute {other:?}"))),
            }
        }
        for (name, value) in attributes(query, '&')? {
            match name.as_str() {
                "module-path" => {
                    set(&mut uri.module_path, PathBuf::from(decode_text(&value, &name)?), &name)?
                }
                "module-name" => set(&mut uri.module_name, decode_text(&value, &name)?, &name)?,
                "pin-value" => {
                    set(&mut uri.pin_value, SecretString::from(decode_text(&value, &name)?), &name)?
                }
                "pin-source" => set(&mut uri.pin_source, decode_text(&value, &name)?, &name)?,
                other if other.starts_with("x-") => {}
                other => return Err(invalid(format!("unknown query attribute {other:?}"))),
            }
        }
        if uri.module_path.is_none() {
            return Err(invalid(match &uri.module_name {
                Some(name) => format!("module-name={name} needs a module-path too: give the module's file, e.g. module-path=/usr/lib/x86_64-linux-gnu/pkcs11/{name}.so"),
                None => "it names no module: add ?module-path=/path/to/module.so (e.g. /usr/lib/softhsm/libsofthsm2.so)".into(),
            }));
        }
        Ok(uri)
    }
}

fn attributes(part: &str, separator: char) -> Result<Vec<(String, String)>, UriError> {
    part.split(separator)
        .filter(|attribute| !attribute.is_empty())
        .map(|attribute| {
            let (name, value) =
                attribute.split_once('=').ok_or_else(|| invalid(format!("{attribute:?} has no '='")))?;
            Ok((name.to_ascii_lowercase(), value.to_owned()))
        })
        .collect()
}

fn set<T>(slot: &mut Option<T>, value: T, name: &str) -> Result<(), UriError> {
    match slot.replace(value) {
        Some(_) => Err(invalid(format!("{name} is given twice"))),
        None => Ok(()),
    }
}

/// Percent-decoding to bytes.
fn decode(value: &str) -> Result<Vec<u8>, UriError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = value.get(i + 1..i + 3).ok_or_else(|| invalid("a '%' without two hex digits"))?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| invalid("a '%' without two hex digits"))?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(value: &str, name: &str) -> Result<String, UriError> {
    String::from_utf8(decode(value)?).map_err(|_| invalid(format!("{name} is not UTF-8")))
}

/// Percent-encodes all but RFC 7512's unreserved and path characters.
fn encode(bytes: &[u8], out: &mut String) {
    for &byte in bytes {
        match byte {
            b'a'..=b'z'
            | b'A'..=b'Z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b':'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b'/' => out.push(char::from(byte)),
            _ => {
                let _ = write!(out, "%{byte:02X}");
            }
        }
    }
}

impl Pkcs11Uri {
    /// A URI's text with any `pin-value` cut out, wherever it stands and however it is
    /// spelled, for messages about a URI that did not parse.
    pub fn redacted(text: &str) -> String {
        let lower = text.to_ascii_lowercase();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some(found) =
            ["pin-value=", "pin%2dvalue="].iter().filter_map(|n| lower[at..].find(n)).min()
        {
            let start = at + found;
            let end = text[start..].find([';', '&', '?']).map_or(text.len(), |e| start + e);
            out.push_str(&text[at..start]);
            out.push_str("pin-value=REDACTED");
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// A PKCS#11 URI as given, not parsed yet: its Debug hides any PIN in it.
#[derive(Clone, PartialEq, Eq)]
pub struct UriText(pub String);

impl std::fmt::Debug for UriText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", Pkcs11Uri::redacted(&self.0))
    }
}

/// Settings keep the URI as text, without its PIN.
impl serde::Serialize for Pkcs11Uri {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Pkcs11Uri {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The URI without its PIN: safe for settings, messages and `sfcred profiles`.
impl std::fmt::Display for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut path = Vec::new();
        let attribute = |name: &str, value: &[u8]| {
            let mut text = format!("{name}=");
            encode(value, &mut text);
            text
        };
        for (name, value) in [
            ("token", &self.token),
            ("manufacturer", &self.manufacturer),
            ("serial", &self.serial),
            ("model", &self.model),
            ("object", &self.object),
        ] {
            if let Some(value) = value {
                path.push(attribute(name, value.as_bytes()));
            }
        }
        if let Some(id) = &self.id {
            let mut text = "id=".to_owned();
            id.iter().for_each(|b| text.push_str(&format!("%{b:02X}")));
            path.push(text);
        }
        if let Some(slot) = self.slot_id {
            path.push(format!("slot-id={slot}"));
        }
        let mut query = Vec::new();
        if let Some(module) = &self.module_path {
            query.push(attribute("module-path", module.to_string_lossy().as_bytes()));
        }
        if let Some(name) = &self.module_name {
            query.push(attribute("module-name", name.as_bytes()));
        }
        if let Some(source) = &self.pin_source {
            query.push(attribute("pin-source", source.as_bytes()));
        }
        write!(f, "pkcs11:{}", path.join(";"))?;
        if !query.is_empty() {
            write!(f, "?{}", query.join("&"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_case_insensitive() {
        for scheme in ["pkcs11", "PKCS11", "Pkcs11"] {
            let uri: Pkcs11Uri = format!("{scheme}:token=sfcred?module-path=/usr/lib/m.so").parse().unwrap();
            assert_eq!(uri.token.as_deref(), Some("sfcred"), "{scheme}");
        }
        assert!("pkcs1:token=x?module-path=/usr/lib/m.so".parse::<Pkcs11Uri>().is_err());
        assert!("pkcs11".parse::<Pkcs11Uri>().is_err());
    }

    #[test]
    fn reads_the_rfc_attributes() {
        let uri: Pkcs11Uri = "pkcs11:token=sfcred;object=prod%20key;id=%01%02;slot-id=3;type=private\
                              ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=12%2634"
            .parse()
            .unwrap();
        assert_eq!(uri.token.as_deref(), Some("sfcred"));
        assert_eq!(uri.object.as_deref(), Some("prod key"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2][..]));
        assert_eq!(uri.slot_id, Some(3));
        assert_eq!(uri.pin_value.as_ref().unwrap().expose_secret(), "12&34");
        assert_eq!(uri.module_path.as_deref(), Some(std::path::Path::new("/usr/lib/softhsm/libsofthsm2.so")));
    }

    #[test]
    fn prints_without_the_pin_and_reads_back() {
        let text =
            "pkcs11:token=my%20token;object=prod;id=%AB?module-path=/m.so&pin-value=1234&pin-source=/run/pin";
        let uri: Pkcs11Uri = text.parse().unwrap();
        let shown = uri.to_string();
        assert_eq!(shown, "pkcs11:token=my%20token;object=prod;id=%AB?module-path=/m.so&pin-source=/run/pin");
        assert!(!format!("{uri:?}").contains("1234"), "Debug hides the PIN");
        let again: Pkcs11Uri = shown.parse().unwrap();
        assert_eq!(again.to_string(), shown);
        assert!(again.pin_value.is_none());
    }

    #[test]
    fn a_pin_is_cut_from_any_text_that_did_not_parse() {
        for text in [
            "pkcs11:token=x&pin-value=1234",
            "pkcs11:token=x;pin-value=1234;object=y",
            "pkcs11:token=x?module-path=/m&PIN-VALUE=1234",
            "pkcs11:token=x?pin%2Dvalue=1234",
        ] {
            let shown = Pkcs11Uri::redacted(text);
            assert!(!shown.contains("1234") && shown.contains("REDACTED"), "{text} -> {shown}");
        }
        assert_eq!(Pkcs11Uri::redacted("pkcs11:token=x"), "pkcs11:token=x");
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| text.parse::<Pkcs11Uri>().unwrap_err().reason;
        assert!(err("token=x").contains("must start with pkcs11:"));
        assert!(err("pkcs11:token=x").contains("add ?module-path="));
        assert!(err("pkcs11:token=x?module-name=ykcs11").contains("module-path"));
        assert!(err("pkcs11:token=x;token=y?module-path=/m").contains("given twice"));
        assert!(err("pkcs11:tokn=x?module-path=/m").contains("unknown path attribute \"tokn\""));
        assert!(err("pkcs11:type=cert?module-path=/m").contains("type=private"));
        assert!(err("pkcs11:id=%G1?module-path=/m").contains("hex digits"));
    }
}
