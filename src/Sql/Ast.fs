/// The syntax tree of Druid SQL statements as the parser produces them and the printer
/// writes them back. Identifiers keep their case (Druid identifiers are case-sensitive);
/// function names and keywords are upper-cased by the parser.
module FunctionalDruid.Sql.Ast

[<RequireQualifiedAccess>]
type Literal =
    | Null
    | Bool of bool
    /// Digits as written: `42`, `1.5`, `2e3` (a leading minus is a unary operator).
    | Number of string
    | String of string
    /// `TIMESTAMP '2015-09-12 00:00:00'` (date-only text too).
    | Timestamp of string
    | Date of string
    /// `INTERVAL '1' DAY`, `INTERVAL '1-2' YEAR TO MONTH`: the quoted text and the unit words.
    | Interval of text: string * unit: string

[<RequireQualifiedAccess>]
type BinaryOp =
    | Add
    | Sub
    | Mul
    | Div
    | Mod
    | Concat
    | Eq
    | Ne
    | Lt
    | Le
    | Gt
    | Ge
    | And
    | Or

[<RequireQualifiedAccess>]
type FrameBound =
    | UnboundedPreceding
    | UnboundedFollowing
    | CurrentRow
    | Preceding of int64
    | Following of int64

type Frame = { Rows: bool; Lower: FrameBound; Upper: FrameBound }

[<RequireQualifiedAccess>]
type Expr =
    | Literal of Literal
    /// `t.col` or `col`; `__time` is an ordinary column here.
    | Column of qualifier: string option * name: string
    /// `*` or `t.*` (only in select lists and `COUNT(*)`).
    | Star of qualifier: string option
    /// A dynamic parameter `?`, numbered from 0 in order of appearance.
    | Param of index: int
    | Negate of Expr
    | Not of Expr
    | Binary of BinaryOp * Expr * Expr
    /// Function and aggregate calls; `Filter` is an aggregate's `FILTER (WHERE ...)`.
    | Call of name: string * distinct: bool * args: Expr list * filter: Expr option * over: Window option
    /// A bare keyword argument, as in `TIMESTAMPADD(HOUR, 1, x)`.
    | Keyword of string
    | Case of operand: Expr option * whens: (Expr * Expr) list * otherwise: Expr option
    | Cast of Expr * sqlType: string
    | InList of Expr * Expr list * negated: bool
    | InQuery of Expr * Query * negated: bool
    | Between of Expr * low: Expr * high: Expr * negated: bool
    | Like of Expr * pattern: Expr * escape: Expr option * negated: bool
    | IsNull of Expr * negated: bool
    /// `x IS [NOT] TRUE` / `FALSE`.
    | IsBool of Expr * value: bool * negated: bool
    | IsDistinctFrom of Expr * Expr * negated: bool
    | Extract of unit: string * Expr
    /// `FLOOR(x TO unit)` / `CEIL(x TO unit)`.
    | FloorTo of ceil: bool * Expr * unit: string
    | Position of needle: Expr * haystack: Expr * from: Expr option
    /// `TRIM([BOTH|LEADING|TRAILING] [chars] FROM x)`.
    | Trim of where: string * chars: Expr option * Expr
    | Array of Expr list
    | ScalarQuery of Query
    | Exists of Query

and OrderItem = { Expr: Expr; Descending: bool; NullsFirst: bool option }

and Window = { PartitionBy: Expr list; OrderBy: OrderItem list; Frame: Frame option }

and SelectItem =
    | Item of Expr * alias: string option
    | AllColumns of qualifier: string option

and JoinKind =
    | Inner
    | LeftJoin
    | RightJoin
    | FullJoin
    | Cross

and TableRef =
    /// `druid.x`, `INFORMATION_SCHEMA.TABLES`, `sys.segments` or a bare name.
    | Table of schema: string option * name: string * alias: string option
    | Derived of Query * alias: string option * columns: string list
    | Join of TableRef * JoinKind * TableRef * on: Expr option
    | Unnest of Expr * alias: string option * columns: string list

and GroupingElement =
    | GroupExpr of Expr
    /// `()`: the grand total.
    | GroupEmpty
    /// Each set is a list of expressions; `()` is the empty set.
    | GroupingSets of Expr list list
    | Rollup of Expr list
    | Cube of Expr list

and Select =
    { Distinct: bool
      Items: SelectItem list
      From: TableRef option
      Where: Expr option
      GroupBy: GroupingElement list option
      Having: Expr option }

and QueryBody =
    | SelectBody of Select
    | UnionAll of QueryBody * QueryBody
    /// `UNION` without ALL (distinct rows).
    | Union of QueryBody * QueryBody
    | Values of Expr list list
    | Nested of Query

and Query =
    { With: (string * string list * Query) list
      Body: QueryBody
      OrderBy: OrderItem list
      Limit: Expr option
      Offset: Expr option }

type Statement =
    | QueryStatement of Query
    | Explain of Query

let simpleQuery (body: QueryBody) = { With = []; Body = body; OrderBy = []; Limit = None; Offset = None }

let emptySelect = { Distinct = false; Items = []; From = None; Where = None; GroupBy = None; Having = None }

/// Niladic functions written without parentheses.
let niladicFunctions = set [ "CURRENT_TIMESTAMP"; "CURRENT_DATE"; "CURRENT_TIME"; "LOCALTIMESTAMP"; "LOCALTIME" ]

let timeUnits =
    set [ "MILLISECOND"; "SECOND"; "MINUTE"; "HOUR"; "DAY"; "WEEK"; "MONTH"; "QUARTER"; "YEAR"; "DECADE"; "CENTURY"; "MILLENNIUM"
          "EPOCH"; "DOW"; "ISODOW"; "DOY"; "ISOYEAR"; "MICROSECOND"; "SQL_TSI_DAY"; "SQL_TSI_HOUR"; "SQL_TSI_MINUTE"; "SQL_TSI_SECOND"
          "SQL_TSI_MONTH"; "SQL_TSI_YEAR"; "SQL_TSI_WEEK"; "SQL_TSI_QUARTER" ]

/// Words that cannot be unquoted identifiers or aliases.
let reservedWords =
    set [ "SELECT"; "FROM"; "WHERE"; "GROUP"; "BY"; "HAVING"; "ORDER"; "LIMIT"; "OFFSET"; "UNION"; "ALL"; "AS"; "ON"; "JOIN"
          "INNER"; "LEFT"; "RIGHT"; "FULL"; "OUTER"; "CROSS"; "AND"; "OR"; "NOT"; "IN"; "IS"; "NULL"; "LIKE"; "BETWEEN"; "CASE"
          "WHEN"; "THEN"; "ELSE"; "END"; "CAST"; "DISTINCT"; "TRUE"; "FALSE"; "WITH"; "EXPLAIN"; "ASC"; "DESC"; "FETCH"; "OVER"
          "PARTITION"; "FILTER"; "ESCAPE"; "EXISTS"; "UNNEST"; "LATERAL"; "INTERVAL"; "TIMESTAMP"; "DATE"; "VALUES"; "EXCEPT"
          "INTERSECT"; "USING"; "NATURAL"; "WINDOW"; "ROWS"; "RANGE"; "GROUPING"; "ROLLUP"; "CUBE"; "SETS"; "FOR"; "PLAN"; "UNKNOWN"
          "ARRAY"; "EXTRACT"; "TRIM"; "POSITION"; "SYMMETRIC"; "NULLS" ]
