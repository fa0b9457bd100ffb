/// Druid's string sorting orders (lexicographic, alphanumeric, numeric, strlen, version),
/// used by bound filters, topN metric specs and groupBy limit specs.
module FunctionalDruid.Core.Ordering

open System
open System.Globalization

[<RequireQualifiedAccess>]
type StringOrdering =
    | Lexicographic
    | Alphanumeric
    | Numeric
    | Strlen
    | Version
    member this.Name =
        match this with
        | Lexicographic -> "lexicographic"
        | Alphanumeric -> "alphanumeric"
        | Numeric -> "numeric"
        | Strlen -> "strlen"
        | Version -> "version"

let tryParse (name: string) : StringOrdering option =
    match (if isNull name then "" else name.Trim().ToLowerInvariant()) with
    | "lexicographic" -> Some StringOrdering.Lexicographic
    | "alphanumeric" -> Some StringOrdering.Alphanumeric
    | "numeric" -> Some StringOrdering.Numeric
    | "strlen" -> Some StringOrdering.Strlen
    | "version" -> Some StringOrdering.Version
    | _ -> None

/// UTF-8 byte order, which equals Unicode code point order.
let compareLexicographic (a: string) (b: string) : int = ExprOps.compareUtf8 a b

/// A number as the numeric ordering reads it; None when unparseable.
let parseNumber (s: string) : decimal option =
    if isNull s then None
    else
        match Decimal.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, d -> Some d
        | _ ->
            // Beyond decimal's range: keep the order with a saturated value.
            match Double.TryParse(s.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture) with
            | true, d when not (Double.IsNaN d) -> Some(if d > 0.0 then Decimal.MaxValue else Decimal.MinValue)
            | _ -> None

/// Unparseable values sort like nulls, before numbers; two of them compare lexicographically.
let compareNumeric (a: string) (b: string) : int =
    match parseNumber a, parseNumber b with
    | Some x, Some y -> compare x y
    | None, Some _ -> -1
    | Some _, None -> 1
    | None, None -> compareLexicographic a b

let private isDigit (c: char) = c >= '0' && c <= '9'

/// Runs of digits compare by their numeric value ("file2" < "file12"), other runs as text.
let compareAlphanumeric (a: string) (b: string) : int =
    let chunk (s: string) (i: int) =
        let numeric = isDigit s.[i]
        let mutable j = i
        while j < s.Length && isDigit s.[j] = numeric do j <- j + 1
        s.Substring(i, j - i), numeric, j
    let mutable i, j, result = 0, 0, 0
    while result = 0 && i < a.Length && j < b.Length do
        let ca, na, ni = chunk a i
        let cb, nb, nj = chunk b j
        result <-
            if na && nb then
                let ta, tb = ca.TrimStart('0'), cb.TrimStart('0')
                if ta.Length <> tb.Length then compare ta.Length tb.Length
                else
                    let c = String.CompareOrdinal(ta, tb)
                    if c <> 0 then c else compare ca.Length cb.Length
            else String.CompareOrdinal(ca, cb)
        i <- ni
        j <- nj
    if result <> 0 then result else compare (a.Length - i) (b.Length - j)

let compareStrlen (a: string) (b: string) : int =
    if a.Length <> b.Length then compare a.Length b.Length else String.CompareOrdinal(a, b)

/// Versions split on '.' and '-': numeric parts compare as numbers and after text parts;
/// a version with more parts sorts after its prefix ("1.0.0-SNAPSHOT" after "1.0.0").
let compareVersion (a: string) (b: string) : int =
    let parts (s: string) = s.Split([| '.'; '-' |])
    let pa, pb = parts a, parts b
    let mutable k = 0
    let mutable result = 0
    while result = 0 && k < min pa.Length pb.Length do
        let x, y = pa.[k], pb.[k]
        let nx = x <> "" && Seq.forall isDigit x
        let ny = y <> "" && Seq.forall isDigit y
        result <-
            match nx, ny with
            | true, true -> compareAlphanumeric x y
            | true, false -> 1
            | false, true -> -1
            | false, false -> String.Compare(x, y, StringComparison.OrdinalIgnoreCase)
        k <- k + 1
    if result <> 0 then result else compare pa.Length pb.Length

/// Compares two strings in an ordering; null sorts first.
let compareWith (ordering: StringOrdering) (a: string) (b: string) : int =
    match a, b with
    | null, null -> 0
    | null, _ -> -1
    | _, null -> 1
    | _ ->
        match ordering with
        | StringOrdering.Lexicographic -> compareLexicographic a b
        | StringOrdering.Alphanumeric -> compareAlphanumeric a b
        | StringOrdering.Numeric -> compareNumeric a b
        | StringOrdering.Strlen -> compareStrlen a b
        | StringOrdering.Version -> compareVersion a b
