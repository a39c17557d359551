//! The instrument registry as the commands load it.

use crate::market::instruments::InstrumentRegistry;
use crate::settings::Settings;

/// The instrument registry: `path`, else `[instruments] path`, else the built-in list.
///
/// # Errors
/// The file cannot be read or holds an invalid row.
pub(super) fn registry(
    settings: &Settings,
    path: Option<&std::path::Path>,
) -> anyhow::Result<InstrumentRegistry> {
    Ok(match path.or(settings.instruments.path()) {
        Some(p) => InstrumentRegistry::load(p)?,
        None => InstrumentRegistry::embedded()?,
    })
}
