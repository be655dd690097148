//! Where things live on disk: XDG base directories with a platform fallback (`dirs`).
//!
//! Each helper has an `_in` twin taking an environment lookup, so `load` and tests resolve paths
//! from the same environment they read overrides from instead of the process's.

use std::path::PathBuf;

/// Name of our directory under each base directory.
const APP_DIR: &str = "ibkr-cockpit";

/// An environment lookup: the process environment in production, a map in tests.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}

/// A non-empty absolute path from an XDG variable (the spec says relative ones are ignored).
fn xdg(env: EnvLookup, key: &str) -> Option<PathBuf> {
    env(key).map(PathBuf::from).filter(|p| p.is_absolute())
}

/// `$XDG_CONFIG_HOME/ibkr-cockpit`, else the platform config dir (`~/.config` on Linux).
pub fn config_dir() -> PathBuf {
    config_dir_in(&process_env)
}

pub fn config_dir_in(env: EnvLookup) -> PathBuf {
    xdg(env, "XDG_CONFIG_HOME")
        .or_else(dirs::config_dir)
        .unwrap_or_else(|| PathBuf::from(".config"))
        .join(APP_DIR)
}

/// `<config dir>/config.toml`.
pub fn default_config_path() -> PathBuf {
    config_dir().join("config.toml")
}

pub fn default_config_path_in(env: EnvLookup) -> PathBuf {
    config_dir_in(env).join("config.toml")
}

/// `$XDG_DATA_HOME/ibkr-cockpit`, else the platform data dir (`~/.local/share` on Linux).
pub fn data_dir() -> PathBuf {
    data_dir_in(&process_env)
}

pub fn data_dir_in(env: EnvLookup) -> PathBuf {
    xdg(env, "XDG_DATA_HOME")
        .or_else(dirs::data_dir)
        .unwrap_or_else(|| PathBuf::from(".local/share"))
        .join(APP_DIR)
}

/// `<data dir>/cockpit.db`.
pub fn default_db_path() -> PathBuf {
    data_dir().join("cockpit.db")
}

/// `$XDG_RUNTIME_DIR/ibkr-cockpit/mcp.sock` (per-user, tmpfs, cleaned at logout), else
/// `<data dir>/mcp.sock`.
pub fn runtime_socket_path() -> PathBuf {
    runtime_socket_path_in(&process_env)
}

pub fn runtime_socket_path_in(env: EnvLookup) -> PathBuf {
    match xdg(env, "XDG_RUNTIME_DIR") {
        Some(dir) => dir.join(APP_DIR).join("mcp.sock"),
        None => data_dir_in(env).join("mcp.sock"),
    }
}
