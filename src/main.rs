//! CLI only: parse arguments, build the config, hand off to the library.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "ibkr-cockpit", version, about = "Terminal cockpit for an Interactive Brokers portfolio, with a read-only MCP server built in")]
struct Cli {
    /// Config file (default: $XDG_CONFIG_HOME/ibkr-cockpit/config.toml).
    #[arg(long, global = true, env = "IBKR_COCKPIT_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open the cockpit UI against the configured gateway(s) (the default).
    Tui(TuiArgs),
    /// The cockpit against the built-in simulated gateway: no account needed.
    Demo(DemoArgs),
    /// Stdio MCP server (what Claude Code spawns).
    Mcp(McpArgs),
    /// Headless daemon: MCP over HTTP, REST, metrics.
    Serve(ServeArgs),
    /// Call one tool and print its markdown (or JSON).
    Tool(ToolArgs),
    /// Run the simulated IB Gateway alone.
    SimGateway(SimArgs),
    /// Check config, ports, gateway reachability, API version and data permissions.
    Doctor,
}

#[derive(Args, Debug, Default)]
struct TuiArgs {
    /// Colour theme: dark (default), light, high-contrast, or a themes/*.toml name.
    #[arg(long)]
    theme: Option<String>,
    /// Attach to a running daemon instead of connecting to the gateway.
    #[arg(long)]
    attach: bool,
    /// Unix socket of the MCP server.
    #[arg(long)]
    socket: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
struct SimWorld {
    /// Build a book of N symbols instead of the seed book.
    #[arg(long)]
    positions: Option<usize>,
    /// Market seed (deterministic prices).
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Fault plan, e.g. "drop@30s,restart@60s,stall@90s:10s,sentinels,nosub=HDRX".
    #[arg(long)]
    faults: Option<String>,
}

#[derive(Args, Debug)]
struct DemoArgs {
    #[command(flatten)]
    world: SimWorld,
    #[arg(long)]
    theme: Option<String>,
}

#[derive(Args, Debug)]
struct McpArgs {
    /// Use the simulated book (no account needed).
    #[arg(long)]
    demo: bool,
    /// Never bridge to a running cockpit; connect to the gateway directly.
    #[arg(long)]
    standalone: bool,
    #[arg(long)]
    socket: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ServeArgs {
    #[arg(long)]
    demo: bool,
    /// Address to bind (default 127.0.0.1; anything else requires a token).
    #[arg(long)]
    bind: Option<String>,
    #[arg(long)]
    port: Option<u16>,
    #[arg(long)]
    socket: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ToolArgs {
    /// Tool name, e.g. ibkr_quote.
    name: Option<String>,
    /// Arguments as key=value (lists comma-separated: symbols=KRYX,VLTX).
    args: Vec<String>,
    /// Print the structured JSON instead of markdown.
    #[arg(long)]
    json: bool,
    /// List every tool with a one-line description.
    #[arg(long)]
    list: bool,
    /// Run against the simulated book.
    #[arg(long)]
    demo: bool,
}

#[derive(Args, Debug)]
struct SimArgs {
    #[arg(long, default_value_t = 4002)]
    port: u16,
    /// Serve a second (secondary, USD) account on this port too.
    #[arg(long)]
    secondary_port: Option<u16>,
    #[command(flatten)]
    world: SimWorld,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = &cli;
    eprintln!("not yet available");
    ExitCode::from(2)
}
