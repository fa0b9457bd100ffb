namespace FunctionalDruid.Core

open System
open System.IO
open System.Text.Encodings.Web
open System.Text.Json

/// The value type a numeric aggregator reads and writes.
[<RequireQualifiedAccess>]
type NumericType =
    | Long
    | Double
    | Float

[<RequireQualifiedAccess>]
type NumericOp =
    | Sum
    | Min
    | Max

/// The value half of a first/last (time, value) pair.
[<RequireQualifiedAccess>]
type PairType =
    | Long
    | Double
    | Float
    | String

/// longSum, doubleMin, floatMax, ...: exactly one of `FieldName` and `Expression` is set
/// (Druid's rule); the expression stays text until the expression language evaluates it.
type NumericAggregator =
    { Name: string
      Type: NumericType
      Op: NumericOp
      FieldName: string option
      Expression: string option }

/// longFirst, stringLast, ...: keeps the value with the smallest (first) or largest (last)
/// time read from `TimeColumn` (`__time`, the row timestamp, by default).
type FirstLastAggregator =
    { Name: string
      Type: PairType
      IsLast: bool
      FieldName: string
      TimeColumn: string
      /// Only meaningful for string pairs; Druid's default is 1024.
      MaxStringBytes: int }

/// `stringMin` / `stringMax` (our extension; Druid SQL cannot take MIN or MAX of a string):
/// the least or greatest value of a string field in UTF-8 byte order, nulls ignored; a
/// multi-value row offers each of its values. A query-time aggregator only.
type StringExtremeAggregator =
    { Name: string
      FieldName: string
      IsMax: bool }

/// `hyperUnique`: an HLL sketch of the field's string values, or, with
/// `IsInputHyperUnique`, of sketches that arrive pre-built (base64) in the field.
type HyperUniqueAggregator =
    { Name: string
      FieldName: string
      IsInputHyperUnique: bool
      Round: bool }

/// One field of a `cardinality` aggregator. Plain names and `default` dimension specs are
/// understood; other dimension specs (extraction, lookup, ...) are kept as raw JSON.
type CardinalityField =
    { Dimension: string
      OutputName: string
      OutputType: string
      OtherSpecJson: string option }

type CardinalityAggregator =
    { Name: string
      Fields: CardinalityField list
      ByRow: bool
      Round: bool }

/// An aggregator as written in a metricsSpec or a query's `aggregations`.
type AggregatorSpec =
    | Count of name: string
    | Numeric of NumericAggregator
    | FirstLast of FirstLastAggregator
    | StringExtreme of StringExtremeAggregator
    | HyperUnique of HyperUniqueAggregator
    | Cardinality of CardinalityAggregator
    /// `name` None means the inner aggregator's name; the filter stays raw JSON until the
    /// filter module evaluates it.
    | Filtered of name: string option * filterJson: string * aggregator: AggregatorSpec

module AggregatorSpec =
    let private numericTypeNames =
        [ "longSum", (NumericType.Long, NumericOp.Sum); "longMin", (NumericType.Long, NumericOp.Min)
          "longMax", (NumericType.Long, NumericOp.Max); "doubleSum", (NumericType.Double, NumericOp.Sum)
          "doubleMin", (NumericType.Double, NumericOp.Min); "doubleMax", (NumericType.Double, NumericOp.Max)
          "floatSum", (NumericType.Float, NumericOp.Sum); "floatMin", (NumericType.Float, NumericOp.Min)
          "floatMax", (NumericType.Float, NumericOp.Max) ]

    let private pairTypeNames =
        [ "longFirst", (PairType.Long, false); "longLast", (PairType.Long, true)
          "doubleFirst", (PairType.Double, false); "doubleLast", (PairType.Double, true)
          "floatFirst", (PairType.Float, false); "floatLast", (PairType.Float, true)
          "stringFirst", (PairType.String, false); "stringLast", (PairType.String, true) ]

    let defaultMaxStringBytes = 1024
    let timeColumnName = "__time"

    /// The `type` Druid uses for the aggregator.
    let rec typeName (spec: AggregatorSpec) : string =
        match spec with
        | Count _ -> "count"
        | Numeric a -> numericTypeNames |> List.find (fun (_, t) -> t = (a.Type, a.Op)) |> fst
        | FirstLast a -> pairTypeNames |> List.find (fun (_, t) -> t = (a.Type, a.IsLast)) |> fst
        | StringExtreme a -> if a.IsMax then "stringMax" else "stringMin"
        | HyperUnique _ -> "hyperUnique"
        | Cardinality _ -> "cardinality"
        | Filtered _ -> "filtered"

    /// The output column / result name.
    let rec name (spec: AggregatorSpec) : string =
        match spec with
        | Count n -> n
        | Numeric a -> a.Name
        | FirstLast a -> a.Name
        | StringExtreme a -> a.Name
        | HyperUnique a -> a.Name
        | Cardinality a -> a.Name
        | Filtered(Some n, _, _) -> n
        | Filtered(None, _, inner) -> name inner

    let rec withName (newName: string) (spec: AggregatorSpec) : AggregatorSpec =
        match spec with
        | Count _ -> Count newName
        | Numeric a -> Numeric { a with Name = newName }
        | FirstLast a -> FirstLast { a with Name = newName }
        | StringExtreme a -> StringExtreme { a with Name = newName }
        | HyperUnique a -> HyperUnique { a with Name = newName }
        | Cardinality a -> Cardinality { a with Name = newName }
        | Filtered(_, f, inner) -> Filtered(Some newName, f, inner)

    // -----------------------------------------------------------------------------------
    // Parsing
    // -----------------------------------------------------------------------------------

    /// Compact JSON of a node, so specs compare equal whatever their formatting.
    let private compactJson (n: Json.Node) =
        use stream = new MemoryStream()
        (use w = new Utf8JsonWriter(stream, JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
         n.El.WriteTo w)
        Text.Encoding.UTF8.GetString(stream.ToArray())

    let private requireName (n: Json.Node) =
        match Json.optString n "name" with
        | Some s -> s
        | None -> Json.fail n "Must have a valid, non-null aggregator name"

    let private parseCardinalityField (n: Json.Node) : CardinalityField =
        if Json.isString n then
            let d = Json.asString n
            { Dimension = d; OutputName = d; OutputType = "STRING"; OtherSpecJson = None }
        else
            let n = Json.expectObject n
            let dimension = Json.requiredString n "dimension"
            let outputName = Json.stringOr n "outputName" dimension
            match Json.stringOr n "type" "default" with
            | "default" ->
                { Dimension = dimension; OutputName = outputName
                  OutputType = (Json.stringOr n "outputType" "STRING").ToUpperInvariant(); OtherSpecJson = None }
            | _ -> { Dimension = dimension; OutputName = outputName; OutputType = "STRING"; OtherSpecJson = Some(compactJson n) }

    /// Reads one aggregator; errors are `Json.JsonError`s at the aggregator's path, worded
    /// as Druid words them.
    let rec parse (n: Json.Node) : AggregatorSpec =
        let n = Json.expectObject n
        let typ =
            match Json.optString n "type" with
            | Some t -> t
            | None -> Json.fail n "Could not resolve aggregator: missing type id property 'type'"
        match typ with
        | "count" -> Count(requireName n)
        | t when numericTypeNames |> List.exists (fun (k, _) -> k = t) ->
            let nm = requireName n
            let numericType, op = numericTypeNames |> List.find (fun (k, _) -> k = t) |> snd
            let field = Json.optString n "fieldName"
            let expression = Json.optString n "expression"
            if field.IsSome = expression.IsSome then Json.fail n "Must have a valid, non-null fieldName or expression"
            Numeric { Name = nm; Type = numericType; Op = op; FieldName = field; Expression = expression }
        | t when pairTypeNames |> List.exists (fun (k, _) -> k = t) ->
            let nm = requireName n
            let pairType, isLast = pairTypeNames |> List.find (fun (k, _) -> k = t) |> snd
            let field =
                match Json.optString n "fieldName" with
                | Some f -> f
                | None -> Json.fail n "Must have a valid, non-null fieldName"
            let maxBytes =
                if pairType = PairType.String then Json.intOr n "maxStringBytes" defaultMaxStringBytes else defaultMaxStringBytes
            if maxBytes < 0 then Json.fail n "maxStringBytes must be greater than 0"
            FirstLast
                { Name = nm; Type = pairType; IsLast = isLast; FieldName = field
                  TimeColumn = Json.stringOr n "timeColumn" timeColumnName; MaxStringBytes = maxBytes }
        | "stringMin" | "stringMax" ->
            let nm = requireName n
            match Json.optString n "fieldName" with
            | None -> Json.fail n "Must have a valid, non-null fieldName"
            | Some field -> StringExtreme { Name = nm; FieldName = field; IsMax = (typ = "stringMax") }
        | "hyperUnique" ->
            let nm = requireName n
            match Json.optString n "fieldName" with
            | None -> Json.fail n "Must have a valid, non-null fieldName"
            | Some field ->
                HyperUnique
                    { Name = nm; FieldName = field
                      IsInputHyperUnique = Json.boolOr n "isInputHyperUnique" false; Round = Json.boolOr n "round" false }
        | "cardinality" ->
            let nm = requireName n
            let fields =
                match Json.tryField n "fields", Json.tryField n "fieldNames" with
                | Some _, Some _ -> Json.fail n "Cannot specify both 'fieldNames' and 'fields."
                | None, None -> Json.fail n "Must provide 'fieldNames' if 'fields' is null."
                | Some f, None -> (if Json.isArray f then Json.elements f else [ f ]) |> List.map parseCardinalityField
                | None, Some f -> Json.asStringList f |> List.map (fun d -> { Dimension = d; OutputName = d; OutputType = "STRING"; OtherSpecJson = None })
            Cardinality { Name = nm; Fields = fields; ByRow = Json.boolOr n "byRow" false; Round = Json.boolOr n "round" false }
        | "filtered" ->
            let inner = parse (Json.field n "aggregator")
            let filter = Json.expectObject (Json.field n "filter")
            Filtered(Json.optString n "name", compactJson filter, inner)
        | "javascript" -> Json.fail n "JavaScript is disabled"
        | other -> raise (Json.JsonError(Json.childPath n.Path "type", sprintf "Unknown aggregator type [%s]" other))

    /// Reads a JSON array of aggregators (a metricsSpec or `aggregations`).
    let parseList (n: Json.Node) : AggregatorSpec list = Json.elements n |> List.map parse

    // -----------------------------------------------------------------------------------
    // Druid's JSON shape (Jackson's property order: type, then the creator's properties)
    // -----------------------------------------------------------------------------------

    let private writerOptions = JsonWriterOptions(Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping)

    let private writeRaw (w: Utf8JsonWriter) (raw: string) =
        use doc = JsonDocument.Parse(raw, Json.documentOptions)
        doc.RootElement.WriteTo w

    let private writeOptString (w: Utf8JsonWriter) (key: string) (v: string option) =
        match v with
        | Some s -> w.WriteString(key, s)
        | None -> w.WriteNull key

    let rec writeJson (w: Utf8JsonWriter) (spec: AggregatorSpec) =
        w.WriteStartObject()
        w.WriteString("type", typeName spec)
        match spec with
        | Count nm -> w.WriteString("name", nm)
        | Numeric a ->
            w.WriteString("name", a.Name)
            writeOptString w "fieldName" a.FieldName
            writeOptString w "expression" a.Expression
        | FirstLast a ->
            w.WriteString("name", a.Name)
            w.WriteString("fieldName", a.FieldName)
            w.WriteString("timeColumn", a.TimeColumn)
            if a.Type = PairType.String then w.WriteNumber("maxStringBytes", a.MaxStringBytes)
        | StringExtreme a ->
            w.WriteString("name", a.Name)
            w.WriteString("fieldName", a.FieldName)
        | HyperUnique a ->
            w.WriteString("name", a.Name)
            w.WriteString("fieldName", a.FieldName)
            w.WriteBoolean("isInputHyperUnique", a.IsInputHyperUnique)
            w.WriteBoolean("round", a.Round)
        | Cardinality a ->
            w.WriteString("name", a.Name)
            w.WritePropertyName "fields"
            w.WriteStartArray()
            for f in a.Fields do
                match f.OtherSpecJson with
                | Some raw -> writeRaw w raw
                | None ->
                    w.WriteStartObject()
                    w.WriteString("type", "default")
                    w.WriteString("dimension", f.Dimension)
                    w.WriteString("outputName", f.OutputName)
                    w.WriteString("outputType", f.OutputType)
                    w.WriteEndObject()
            w.WriteEndArray()
            w.WriteBoolean("byRow", a.ByRow)
            w.WriteBoolean("round", a.Round)
        | Filtered(_, filter, inner) ->
            w.WritePropertyName "aggregator"
            writeJson w inner
            w.WritePropertyName "filter"
            writeRaw w filter
            w.WriteString("name", name spec)
        w.WriteEndObject()

    /// Compact JSON as Druid prints the aggregator (e.g. in segmentMetadata's `aggregators`).
    let toJson (spec: AggregatorSpec) : string =
        use stream = new MemoryStream()
        (use w = new Utf8JsonWriter(stream, writerOptions)
         writeJson w spec)
        Text.Encoding.UTF8.GetString(stream.ToArray())

    // -----------------------------------------------------------------------------------
    // Types and combining
    // -----------------------------------------------------------------------------------

    /// Row fields the aggregator reads at ingestion (`__time` is the row timestamp, not a
    /// field). Expressions and filters add their own inputs once those modules parse them.
    let rec inputFields (spec: AggregatorSpec) : string list =
        match spec with
        | Count _ -> []
        | Numeric a -> Option.toList a.FieldName
        | FirstLast a -> (if a.TimeColumn = timeColumnName then [] else [ a.TimeColumn ]) @ [ a.FieldName ]
        | StringExtreme a -> [ a.FieldName ]
        | HyperUnique a -> [ a.FieldName ]
        | Cardinality a -> a.Fields |> List.map (fun f -> f.Dimension)
        | Filtered(_, _, inner) -> inputFields inner

    let private pairTypeName (t: PairType) =
        match t with
        | PairType.Long -> "serializablePairLongLong"
        | PairType.Double -> "serializablePairLongDouble"
        | PairType.Float -> "serializablePairLongFloat"
        | PairType.String -> "serializablePairLongString"

    let hyperUniqueTypeName = "hyperUnique"
    let preComputedHyperUniqueTypeName = "preComputedHyperUnique"

    /// The type of the metric column the aggregator stores (Druid's intermediate type).
    let rec storageType (spec: AggregatorSpec) : ColumnType =
        match spec with
        | Count _ -> ColumnType.Long
        | Numeric a ->
            match a.Type with
            | NumericType.Long -> ColumnType.Long
            | NumericType.Double -> ColumnType.Double
            | NumericType.Float -> ColumnType.Float
        | FirstLast a -> ColumnType.Complex(pairTypeName a.Type)
        | StringExtreme _ -> ColumnType.String
        | HyperUnique a -> ColumnType.Complex(if a.IsInputHyperUnique then preComputedHyperUniqueTypeName else hyperUniqueTypeName)
        | Cardinality _ -> ColumnType.Complex hyperUniqueTypeName
        | Filtered(_, _, inner) -> storageType inner

    /// The type of the finalized result (what a query returns for the aggregator).
    let rec finalizedType (spec: AggregatorSpec) : ColumnType =
        match spec with
        | FirstLast a ->
            match a.Type with
            | PairType.Long -> ColumnType.Long
            | PairType.Double -> ColumnType.Double
            | PairType.Float -> ColumnType.Float
            | PairType.String -> ColumnType.String
        | HyperUnique { Round = round } | Cardinality { Round = round } -> if round then ColumnType.Long else ColumnType.Double
        | Filtered(_, _, inner) -> finalizedType inner
        | _ -> storageType spec

    /// Druid's combining factory: the aggregator that merges stored values of this one,
    /// reading the column named after it (count becomes a longSum of the count column).
    let rec combining (spec: AggregatorSpec) : AggregatorSpec =
        match spec with
        | Count nm -> Numeric { Name = nm; Type = NumericType.Long; Op = NumericOp.Sum; FieldName = Some nm; Expression = None }
        | Numeric a -> Numeric { a with FieldName = Some a.Name; Expression = None }
        | FirstLast a -> FirstLast { a with FieldName = a.Name }
        | StringExtreme a -> StringExtreme { a with FieldName = a.Name }
        | HyperUnique a -> HyperUnique { a with FieldName = a.Name; IsInputHyperUnique = false }
        | Cardinality a -> HyperUnique { Name = a.Name; FieldName = a.Name; IsInputHyperUnique = false; Round = a.Round }
        | Filtered(_, _, inner) -> combining (withName (name spec) inner)
