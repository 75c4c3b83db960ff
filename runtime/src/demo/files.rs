//! The demo fleet on disk: the client key pair, known_hosts, the inventory
//! and each host's sandbox, all under one temporary directory.
//!
//! ```text
//! shoal-demo-XXXXXX/
//!   inventory.toml       every host, its port and tags; the groups
//!   known_hosts          [127.0.0.1]:PORT ssh-ed25519 AAAA... per host
//!   id_ed25519(.pub)     the client key every host accepts (0600)
//!   hosts/NAME/          a host's sandbox: its working directory and $HOME
//! ```

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::LineEnding;
use russh::keys::{Algorithm, PrivateKey, PublicKey};

use super::data::{self, GROUPS, Host};
use super::server::USER;

/// A fresh Ed25519 key; `comment` ends up after the key in known_hosts and
/// `.pub` files.
pub(crate) fn new_key(comment: &str) -> io::Result<PrivateKey> {
    let mut key =
        PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).map_err(io::Error::other)?;
    key.set_comment(comment);
    Ok(key)
}

/// Writes `key` in OpenSSH's private key format, readable by its owner only
/// (as ssh insists), and its public half next to it as `PATH.pub`.
pub(crate) fn write_key_pair(path: &Path, key: &PrivateKey) -> io::Result<()> {
    let private = key.to_openssh(LineEnding::LF).map_err(io::Error::other)?;
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?
        .write_all(private.as_bytes())?;
    let public = key.public_key().to_openssh().map_err(io::Error::other)?;
    let mut public_path = path.as_os_str().to_owned();
    public_path.push(".pub");
    fs::write(public_path, public + "\n")
}

/// One listening host, as the files describe it.
pub(crate) struct Listening<'a> {
    pub host: &'a Host,
    pub port: u16,
    pub key: &'a PublicKey,
}

/// known_hosts lines in OpenSSH's format for a non-22 port.
pub(crate) fn known_hosts(hosts: &[Listening]) -> io::Result<String> {
    let mut text = String::new();
    for listening in hosts {
        let key = listening.key.to_openssh().map_err(io::Error::other)?;
        text.push_str(&format!("[127.0.0.1]:{} {key}\n", listening.port));
    }
    Ok(text)
}

/// The inventory in shoal's TOML format.
pub(crate) fn inventory(hosts: &[Listening], identity: &Path, known_hosts: &Path) -> String {
    let mut text = format!(
        "# The demo fleet: {} SSH servers inside the shoal process that wrote this\n\
         # file, which is removed when the demo ends.\n\
         \n\
         [defaults]\n\
         user = {}\n\
         identity_files = [{}]\n\
         known_hosts = {}\n",
        hosts.len(),
        quote(USER),
        quote(&identity.to_string_lossy()),
        quote(&known_hosts.to_string_lossy()),
    );
    for listening in hosts {
        let tags: Vec<String> = listening
            .host
            .tags()
            .iter()
            .map(|(name, value)| format!("{name} = {}", quote(value)))
            .collect();
        text.push_str(&format!(
            "\n[[hosts]]\nname = {}\naddr = \"127.0.0.1\"\nport = {}\ntags = {{ {} }}\n",
            quote(listening.host.name),
            listening.port,
            tags.join(", ")
        ));
    }
    text.push_str("\n[groups]\n");
    for (group, nodeset) in GROUPS {
        text.push_str(&format!("{group} = {}\n", quote(nodeset)));
    }
    text
}

/// A TOML basic string, escaped by toml itself (temporary paths may hold
/// any character).
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Creates `host`'s sandbox under `root` and returns its path.
pub(crate) fn write_sandbox(root: &Path, host: &Host) -> io::Result<PathBuf> {
    let sandbox = root.join(host.name);
    for file in host.files() {
        write_file(&sandbox, &file)?;
    }
    Ok(sandbox)
}

fn write_file(sandbox: &Path, file: &data::File) -> io::Result<()> {
    let path = sandbox.join(file.path);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mode = if file.executable { 0o755 } else { 0o644 };
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)?
        .write_all(file.text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inventory::{Inventory, Overrides};

    #[test]
    fn the_inventory_loads_with_every_host_tag_and_group() {
        let dir = tempfile::tempdir().unwrap();
        let identity = dir.path().join("id_ed25519");
        write_key_pair(&identity, &new_key("test").unwrap()).unwrap();
        let key = new_key("h").unwrap();
        let listening: Vec<Listening> = data::HOSTS
            .iter()
            .enumerate()
            .map(|(i, host)| Listening {
                host,
                port: 40000 + i as u16,
                key: key.public_key(),
            })
            .collect();
        let path = dir.path().join("inventory.toml");
        fs::write(&path, inventory(&listening, &identity, Path::new("/k\"h"))).unwrap();

        let loaded = Inventory::load(&path, &Overrides::default()).unwrap();
        assert_eq!(loaded.hosts.len(), 30);
        assert_eq!(loaded.settings.identity_files, [identity]);
        assert_eq!(loaded.settings.known_hosts, Path::new("/k\"h"));
        let web04 = &loaded.hosts[3];
        assert_eq!(
            (
                web04.name.as_str(),
                web04.addr.as_str(),
                web04.port,
                web04.user.as_str()
            ),
            ("web04", "127.0.0.1", 40003, "demo")
        );
        let tags: Vec<(&str, &str)> = web04
            .tags
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            tags,
            [
                ("az", "us-east-1a"),
                ("rack", "r11"),
                ("role", "web"),
                ("version", "2.4.1")
            ]
        );
        assert_eq!(loaded.groups["web"].len(), 10);
        assert_eq!(loaded.groups["canary"].len(), 8);
    }

    #[test]
    fn the_private_key_is_private_and_reads_back() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("id_ed25519");
        let key = new_key("demo").unwrap();
        write_key_pair(&path, &key).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let read = PrivateKey::from_openssh(fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(read.public_key().key_data(), key.public_key().key_data());
        let public = russh::keys::load_public_key(dir.path().join("id_ed25519.pub")).unwrap();
        assert_eq!(public.key_data(), key.public_key().key_data());
    }
}
