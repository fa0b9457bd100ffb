/// The native Druid query model: every query kind, data source, dimension spec, having,
/// limit spec and virtual column as plain values. Parsing lives in QueryParse (the pieces of
/// aggregating queries) and QueryParseSurface (the whole query).
module FunctionalDruid.Core.Query

open System
open FunctionalDruid.Core
open FunctionalDruid.Core.Json

[<RequireQualifiedAccess>]
type ScanOrder =
    | Ascending
    | Descending
    | NoOrder

type ScanQuery =
    { Columns: string list
      Limit: int64 option
      Offset: int64
      Compacted: bool
      Order: ScanOrder
      BatchSize: int }

/// Post-aggregators compute from the finalized aggregator values (and earlier
/// post-aggregators) of one result row.
[<RequireQualifiedAccess>]
type PostAggregator =
    /// `+ - * / quotient pow` over doubles; `/` gives 0 for a zero divisor, as Druid's does.
    | Arithmetic of name: string * fn: string * fields: PostAggregator list
    | FieldAccess of name: string * fieldName: string
    | Constant of name: string * value: Value
    | Expression of name: string * expression: Expr.Expr
    | Greatest of name: string * asLong: bool * fields: PostAggregator list
    | Least of name: string * asLong: bool * fields: PostAggregator list
    /// `finalizingFieldAccess`: the aggregator's finalized value (a rounded estimate, say),
    /// where `fieldAccess` reads the intermediate one.
    | FinalizingFieldAccess of name: string * fieldName: string
    /// `hyperUniqueCardinality`: the estimate of a hyperUnique/cardinality aggregator.
    | HyperUniqueCardinality of name: string * fieldName: string * round: bool
    /// `arithmetic` with an `ordering` (`numericFirst`): same value, only sorting differs.
    | OrderedArithmetic of name: string * fn: string * fields: PostAggregator list * ordering: string
    member this.Name =
        match this with
        | Arithmetic(n, _, _) | FieldAccess(n, _) | Constant(n, _) | Expression(n, _) | Greatest(n, _, _) | Least(n, _, _)
        | FinalizingFieldAccess(n, _) | HyperUniqueCardinality(n, _, _) | OrderedArithmetic(n, _, _, _) -> n

/// How a query reads one dimension into an output column (topN, groupBy, search).
[<RequireQualifiedAccess>]
type DimensionSpec =
    | Default of dimension: string * outputName: string * outputType: ColumnType
    | Extraction of dimension: string * outputName: string * outputType: ColumnType * fn: Extraction.ExtractionFn
    /// Multi-value filtering: keeps (whitelist) or drops the listed values of each row.
    | ListFiltered of inner: DimensionSpec * values: string list * isWhitelist: bool
    | RegexFiltered of inner: DimensionSpec * pattern: string
    | PrefixFiltered of inner: DimensionSpec * prefix: string
    member this.Dimension =
        match this with
        | Default(d, _, _) | Extraction(d, _, _, _) -> d
        | ListFiltered(i, _, _) | RegexFiltered(i, _) | PrefixFiltered(i, _) -> i.Dimension
    member this.OutputName =
        match this with
        | Default(_, o, _) | Extraction(_, o, _, _) -> o
        | ListFiltered(i, _, _) | RegexFiltered(i, _) | PrefixFiltered(i, _) -> i.OutputName

/// An `expression` virtual column: a named Druid expression every query part can read
/// like a stored column.
type VirtualColumn =
    { Name: string
      Expression: string
      Parsed: Expr.Expr
      /// None lets the type follow the expression's result.
      OutputType: ColumnType option }

/// groupBy `having` specs, applied to finished result rows.
[<RequireQualifiedAccess>]
type Having =
    | Filter of Filter.Filter
    | GreaterThan of aggregation: string * value: Value
    | LessThan of aggregation: string * value: Value
    | EqualTo of aggregation: string * value: Value
    | DimSelector of dimension: string * value: string option
    | And of Having list
    | Or of Having list
    | Not of Having
    | Always

type OrderByColumn =
    { Column: string
      Descending: bool
      Ordering: Ordering.StringOrdering }

/// groupBy's `default` limit spec.
type LimitSpec =
    { Columns: OrderByColumn list
      Limit: int option
      Offset: int }

[<RequireQualifiedAccess>]
type TopNMetric =
    | Numeric of metric: string
    | Inverted of TopNMetric
    /// Orders by the dimension value itself; `previousStop` pages past earlier results.
    | Dimension of ordering: Ordering.StringOrdering * previousStop: string option

type TimeseriesQuery =
    { Granularity: Time.Granularity
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list
      Descending: bool
      /// From the context (`skipEmptyBuckets`, boolean or string).
      SkipEmptyBuckets: bool
      /// From the context (`grandTotal`): a last row with totals and a null timestamp.
      GrandTotal: bool
      Limit: int option }

type TopNQuery =
    { Granularity: Time.Granularity
      Dimension: DimensionSpec
      Metric: TopNMetric
      Threshold: int
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list }

type GroupByQuery =
    { Granularity: Time.Granularity
      Dimensions: DimensionSpec list
      Aggregations: AggregatorSpec list
      PostAggregations: PostAggregator list
      Having: Having option
      LimitSpec: LimitSpec option
      /// Each entry lists output names of `Dimensions` to group by in one more pass.
      SubtotalsSpec: string list list option }

type SearchSpec =
    { Granularity: Time.Granularity
      /// None searches every string dimension.
      SearchDimensions: DimensionSpec list option
      Query: Extraction.SearchQuery
      Sort: Ordering.StringOrdering
      Limit: int }

[<RequireQualifiedAccess>]
type AnalysisType =
    | Cardinality
    | Size
    | Interval
    | Aggregators
    | QueryGranularity
    | Rollup
    | MinMax
    | TimestampSpec

[<RequireQualifiedAccess>]
type ColumnIncluderator =
    | All
    | NoColumns
    | List of string list

type SegmentMetadataQuery =
    { AnalysisTypes: AnalysisType list
      Merge: bool
      LenientAggregatorMerge: bool
      ToInclude: ColumnIncluderator }

[<RequireQualifiedAccess>]
type Bound =
    | Both
    | MinTime
    | MaxTime

[<RequireQualifiedAccess>]
type JoinType =
    | Inner
    | Left
    | Right
    | Full

/// Where a query reads rows from.
[<RequireQualifiedAccess>]
type DataSource =
    | Table of name: string
    /// Tables with the same schema read as one; results merge.
    | Union of names: string list
    /// Rows carried in the query itself (Druid's `inline`).
    | Inline of columns: (string * ColumnType) list * rows: Value[] list
    /// The results of another native query, read as rows.
    | Query of NativeQuery
    /// Planned by the SQL layer: right-side columns are read with `RightPrefix`.
    | Join of left: DataSource * right: DataSource * rightPrefix: string * condition: Expr.Expr * joinType: JoinType

and [<RequireQualifiedAccess>] QueryKind =
    | Timeseries of TimeseriesQuery
    | TopN of TopNQuery
    | GroupBy of GroupByQuery
    | Scan of ScanQuery
    | Search of SearchSpec
    | TimeBoundary of Bound
    | SegmentMetadata of SegmentMetadataQuery
    | DataSourceMetadata

and NativeQuery =
    { DataSource: DataSource
      Intervals: Time.Interval list
      Filter: Filter.Filter option
      VirtualColumns: VirtualColumn list
      Kind: QueryKind
      /// Context values as text (numbers and booleans arrive as JSON or as strings).
      Context: (string * string) list }
    member this.ContextValue(key: string) = this.Context |> List.tryFind (fun (k, _) -> k = key) |> Option.map snd

/// The table names a data source reads, in order (for routing and unknown-source checks).
let rec tableNames (d: DataSource) : string list =
    match d with
    | DataSource.Table n -> [ n ]
    | DataSource.Union ns -> ns
    | DataSource.Inline _ -> []
    | DataSource.Query q -> tableNames q.DataSource
    | DataSource.Join(l, r, _, _, _) -> tableNames l @ tableNames r
