/// Druid's extraction functions: how a dimension value (or `__time`) is rewritten before a
/// filter compares it or a dimension spec groups on it. Declared ahead of filters because
/// string filters accept an `extractionFn` too.
module FunctionalDruid.Core.Extraction

/// A `search` filter's or search query's match rule (also the `searchQuery` extraction).
type SearchQuery =
    | Contains of value: string * caseSensitive: bool
    | Fragment of values: string list * caseSensitive: bool
    | SearchRegex of pattern: string

[<RequireQualifiedAccess>]
type ExtractionFn =
    /// `timeFormat`: formats a millisecond time (Joda pattern, zone, locale), or truncates it
    /// to a granularity first; no format means ISO.
    | TimeFormat of format: string option * timeZone: string option * locale: string option * granularity: Time.Granularity option * asMillis: bool
    /// `time`: re-formats a string time from one Joda (or SimpleDateFormat) pattern to another.
    | Time of timeFormat: string * resultFormat: string * joda: bool
    | Substring of index: int * length: int option
    /// `regex`: the `index`-th group of the first match; unmatched values become null, or
    /// themselves, or `replaceMissingValueWith`.
    | Regex of expr: string * index: int * replaceMissingValue: bool * replaceMissingValueWith: string option
    /// `partial`: the value when the pattern matches, else null.
    | Partial of expr: string
    /// `searchQuery`: the value when the search query matches, else null.
    | SearchQuery of SearchQuery
    | Strlen
    | Upper of locale: string option
    | Lower of locale: string option
    /// `bucket`: numbers floored to `offset + k * size`.
    | Bucket of size: float * offset: float
    /// `stringFormat`: Java `String.format` with one argument; nullHandling nullString|emptyString|returnNull.
    | StringFormat of format: string * nullHandling: string
    /// `lookup` with an inline `map` lookup.
    | Lookup of map: (string * string) list * retainMissingValue: bool * replaceMissingValueWith: string option * injective: bool
    | Cascade of ExtractionFn list
