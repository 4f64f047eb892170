//! Runs the stand-in for the demo and the benchmark:
//!
//! `sfcred-stand-in --cert CERT.pem --consumer-key CK --username U [--port N] [--sandbox]`
//! or `sfcred-stand-in keypair KEY.pem CERT.pem` to make a key and certificate.
//! Prints the login URL on stdout, then serves until killed.

use std::io::Write;

use sfcred_stand_in::{ConnectedApp, StandIn, key_and_certificate};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [command, key_path, cert_path] = &args[..]
        && command == "keypair"
    {
        let (key, cert) = key_and_certificate("sfcred demo");
        write_private(key_path, &key);
        std::fs::write(cert_path, cert).unwrap_or_else(|e| fail(&format!("cannot write {cert_path}: {e}")));
        return;
    }
    let value = |flag: &str| {
        let at = args.iter().position(|a| a == flag)?;
        args.get(at + 1).cloned()
    };
    let (Some(cert), Some(consumer_key), Some(username)) =
        (value("--cert"), value("--consumer-key"), value("--username"))
    else {
        fail(
            "usage: sfcred-stand-in --cert CERT.pem --consumer-key CK --username U [--port N] [--sandbox]\n       sfcred-stand-in keypair KEY.pem CERT.pem",
        );
    };
    let certificate_pem =
        std::fs::read_to_string(&cert).unwrap_or_else(|e| fail(&format!("cannot read {cert}: {e}")));
    let port = value("--port").map_or(0, |p| p.parse().unwrap_or_else(|_| fail("--port takes a number")));
    let app = ConnectedApp { consumer_key, certificate_pem, approved_users: vec![username] };
    let stand_in = StandIn::start(port, vec![app]).unwrap_or_else(|e| fail(&e));
    if args.iter().any(|a| a == "--sandbox") {
        stand_in.set_audience("https://test.salesforce.com");
    }
    println!("{}", stand_in.url());
    let _ = std::io::stdout().flush();
    stand_in.wait();
}

fn write_private(path: &str, text: &str) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).unwrap_or_else(|e| fail(&format!("cannot create {path}: {e}")));
    file.write_all(text.as_bytes()).unwrap_or_else(|e| fail(&format!("cannot write {path}: {e}")));
}

fn fail(message: &str) -> ! {
    eprintln!("sfcred-stand-in: {message}");
    std::process::exit(2);
}
