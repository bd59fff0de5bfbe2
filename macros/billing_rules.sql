{#- Small named pieces of the billing rules, shared by the US and the global model. -#}

{#- SPEC §6: salted SHA-256 of the event's first message id: deterministic across runs and
    engines, unique per event, and built from no user data at all. -#}
{% macro billing_event_id(first_message_id) -%}
    lower({{ sha256_hex("concat(" ~ salt_literal() ~ ", '|', " ~ first_message_id ~ ")") }})
{%- endmacro %}

{#- The secret salt as SQL. From the run script (BILLING_SALT): read by the engine from a private file that
    lives only while the run does (run input billing_salt_file), so the salt is never written into the SQL
    that dbt logs and keeps in target/ (README "Secrets"). Else the var billing_salt as a literal (the public
    demo salt, or your own when you run dbt yourself). -#}
{% macro salt_literal() -%}
    {%- set salt_file = run_input('billing_salt_file', '') -%}
    {%- if salt_file -%}
        {{ secret_file_content(salt_file) }}
    {%- else -%}
        {{ string_literal(var("billing_salt")) }}
    {%- endif -%}
{%- endmacro %}

{#- Pseudonymous key of a user: salted, so it is neither the user_id nor its plain hash (SPEC §1).
    Salted MD5 (dbt's cross-database hash): the salt, not the digest, is what keeps it from being
    reversed, and 32 hex characters instead of 64 are cheaper to compute and store at every row
    (issue: scale). SPEC §6 asks SHA-256 only of billing_event_id. -#}
{% macro pseudonymous_key(expr) -%}
    case when not {{ is_blank(expr) }} then {{ dbt.hash("concat(" ~ salt_literal() ~ ", '|user|', " ~ expr ~ ")") }} end
{%- endmacro %}

{#- The staged key of a user_id (SPEC §1): NULL when blank, spaces only included (missing_user_id, as
    pseudonymous_key); the salted key prefixed `invalid:` when the id has whitespace or control characters, like
    any other id (int_messages_rejected quarantines it as invalid_user_id: `+1555 ` and `+1555` would otherwise be
    two users, splitting a stream). So is a number in scientific notation (`4.47911E+11`, or `4,47911E+11` with a
    decimal comma): a phone number that a spreadsheet saved rounded, which many users share (their streams would
    merge into one; user trial, seventeenth session). The blank test comes first: DuckDB's concat skips a NULL, Spark's returns one. -#}
{% macro user_key(expr) -%}
    case
        when
            not {{ is_blank(expr) }}
            and (not {{ matches_regex(expr, id_pattern()) }} or {{ matches_regex(expr, '[0-9]([.,][0-9]+)?[eE][+][0-9]+') }})
            then concat('invalid:', {{ pseudonymous_key(expr) }})
        else {{ pseudonymous_key(expr) }}
    end
{%- endmacro %}

{#- The shape of a phone number (a user_id) where decision 13 masks it: `+` and 7 to 15 digits, or (bare_digits) the
    digits alone, spaces or tabs around allowed. int_agents_checked refuses an agent id of that shape. -#}
{% macro phone_number_pattern(bare_digits=false) -%}
    {{ return('[ \t]*[+]' ~ ('?' if bare_digits else '') ~ '[0-9]{7,15}[ \t]*') }}
{%- endmacro %}

{#- SPEC §1 PII: a user_id must never be kept in clear, also when a broken row put it in another column.
    A value shaped like a phone number ('+' and 7 to 15 digits, spaces or tabs around allowed) is replaced by
    'masked:' and its pseudonymous key; `bare_digits` masks 7 to 15 digits without '+' as well; `tokens` a hashed or
    pseudonymous id too (true: any token, macro looks_like_a_token; 'hex': a hex hash only; 'names': in a list of
    lower-case names, a token no name could be, or a hex hash). Used only on columns
    where such a value is never valid, so that masking cannot change the billing of a good row: a row with a masked
    value is quarantined for it (README decision 13). The cheap tests first: the pattern runs only on values that
    hold a '+', or (bare digits) that sort before ':' (start with a space, a tab, '+' or a digit) and hold no '-'
    (a timestamp). -#}
{% macro masked_if_user_id_shaped(expr, bare_digits=false, tokens=false) -%}
    {%- if bare_digits -%}
        {%- set looks_like = expr ~ " < ':' and " ~ expr ~ " not like '%-%' and "
            ~ matches_regex(expr, phone_number_pattern(bare_digits=true)) -%}
    {%- else -%}
        {%- set looks_like = expr ~ " like '%+%' and " ~ matches_regex(expr, phone_number_pattern()) -%}
    {%- endif -%}
    {%- if tokens == 'hex' -%}
        {%- set looks_like = '(' ~ looks_like ~ ') or (' ~ looks_like_a_hex_hash(expr) ~ ')' -%}
    {%- elif tokens == 'names' -%}
        {#- Suggestion kinds, activity types: open lists, `share_location_v2` is valid; a token no name could be holds
            an upper-case letter, `+`, `=` or `-`. -#}
        {%- set looks_like = '(' ~ looks_like ~ ') or (' ~ looks_like_a_hex_hash(expr) ~ ') or ('
            ~ looks_like_a_token(expr) ~ ' and not ' ~ matches_regex(expr, '[a-z0-9_/|]+') ~ ')' -%}
    {%- elif tokens -%}
        {%- set looks_like = '(' ~ looks_like ~ ') or (' ~ looks_like_a_token(expr) ~ ')' -%}
    {%- endif -%}
    case when {{ looks_like }} then concat('masked:', {{ pseudonymous_key(expr) }}) else {{ expr }} end
{%- endmacro %}

{#- A pseudonymous user_id (a hash, as Google's activity logs hold it; user trial, nineteenth session: a 64-hex hash
    shifted into agent_id reached quarantined_messages in clear): 20 or more letters, digits and `+/=_-` (hex, base64,
    base64url), at least one digit and one letter, spaces or tabs around allowed (README decision 13). Only for
    columns where such a value is never valid: a direction, content kind, time, status, size or tester flag
    (suggestion lists and activity types: tokens='names'). The cheap tests first: the length, and no `:` (a
    timestamp) or `@`. -#}
{% macro looks_like_a_token(expr) -%}
    length({{ expr }}) >= 20 and {{ expr }} not like '%:%' and {{ expr }} not like '%@%'
    and {{ matches_regex(expr, '[ \t]*[A-Za-z0-9+/=_-]{20,}[ \t]*') }}
    and {{ matches_regex(expr, '.*[0-9].*') }} and {{ matches_regex(expr, '.*[A-Za-z].*') }}
{%- endmacro %}

{#- SPEC §1 PII in quarantined_messages, which shows a bad row's values as read: a broken row can shift the user_id
    (a phone number, or a pseudonymous id such as Google's hashes), or the message's text (it may hold personal data:
    README "No PII"), into any column, where staging keeps a value as read when it can be valid or cannot be told from
    a valid one (README decision 13; masking a good row's value could change its billing). A quarantined row is never
    billed, so here a value that may be personal data is shown as `masked:` and its pseudonymous key (user trial and
    two reviews, twenty-first session). `kind`:
    - 'id' (message_id, carrier_id; 'agent_id' the same but for `@`, which agent ids hold): spaces inside it (words;
      spaces around it, a tab or an invisible character inside are shown: `bad<TAB>id` tells why the id is invalid),
      a phone number (7 to 15 digits, with `+`, brackets, dots, dashes or spaces, or bare), a hex hash (32 or more
      hex digits), a padded base64 token, an `@`;
    - 'value' (direction, content_kind, status, suggestions, is_tester): a character that is not printable ASCII
      (another script, a tab), an `@`, 7 digits with nothing or phone separators between (not in a time shifted
      there), or two words with letters next to each other (`call me`, so `rich card` too: source_row gives the line);
    - 'size' (file_size_bytes): as 'value', but digits in a row are a size, and a dot is a decimal point;
    - 'time' (sent_at, delivered_at): as 'value', but digits only after a `+` (`+02:00` is an offset):
      `Tue, 10 Nov 2026 09:00:00 GMT` and `20261110T090000Z` are shown, `Hi Bob` is not.
    A value staging masked already is shown as it is. -#}
{% macro shown_in_quarantine(expr, kind) -%}
    {%- set words = matches_regex(expr, '(?s).*[A-Za-z][^ ]* +[^ ]*[A-Za-z].*') -%}
    {%- set not_ascii = 'not ' ~ matches_regex(expr, '[ -~]*') -%}
    {%- set at_sign = expr ~ " like '%@%'" -%}
    {%- set plus_phone = matches_regex(expr, '(?s).*[+][(]?[0-9]([ ().-]*[0-9]){6,}.*') -%}
    {%- if kind in ('id', 'agent_id') -%}
        {%- set personal = [
            matches_regex(expr, '(?s).*[^ ] +[^ ].*'),
            matches_regex(expr, '[ \t]*[+]?[(]?[0-9][0-9 ().-]*[ \t]*') ~ ' and '
                ~ matches_regex(expr, '[^0-9]*([0-9][^0-9]*){7,15}'),
            looks_like_a_hex_hash(expr),
            matches_regex(expr, '[ \t]*[A-Za-z0-9+/_-]{16,}={1,2}[ \t]*')] + ([] if kind == 'agent_id' else [at_sign]) -%}
    {%- elif kind == 'time' -%}
        {%- set personal = [not_ascii, at_sign, plus_phone, words] -%}
    {%- elif kind == 'size' -%}
        {%- set personal = [not_ascii, at_sign, plus_phone, words,
                            matches_regex(expr, '(?s).*[0-9]([ ()-]+[0-9]+){2,}.*')] -%}
    {%- else -%}
        {#- A time shifted there (`2026-11-10T09:00:00Z`) is no phone number. -#}
        {%- set personal = [not_ascii, at_sign, plus_phone, words,
                            matches_regex(expr, '(?s).*[0-9]([ ().-]*[0-9]){6,}.*') ~ ' and not '
                            ~ matches_regex(expr, '(?s)[ \t]*[0-9]{4}-[0-9]{2}-[0-9]{2}.*')] -%}
    {%- endif -%}
    case
        when {{ expr }} not like 'masked:%' and not {{ is_blank(expr) }} and ({{ personal | join(' or ') }})
            then concat('masked:', {{ pseudonymous_key(expr) }})
        else {{ expr }}
    end
{%- endmacro %}

{#- A hashed user_id in an id column (an activity log's agent_id), where a token can be valid: only hex digits, 32 or
    more (MD5, SHA-1, SHA-256 in hex), spaces or tabs around allowed; an agent id is never that (README decision 13). -#}
{% macro looks_like_a_hex_hash(expr) -%}
    length({{ expr }}) >= 32 and {{ matches_regex(expr, '[ \t]*[0-9A-Fa-f]{32,}[ \t]*') }}
{%- endmacro %}

{#- SPEC §3: a file's own size in KiB, rounded to the nearest integer with halves up. In integers: a size up
    to the largest 64-bit integer is valid, and adding the half first overflowed (review, fourteenth session:
    one such row failed the run). -#}
{% macro bytes_to_rounded_kilobytes(bytes) -%}
    coalesce({{ integer_divide(bytes, 1024) }} + case when {{ bytes }} % 1024 >= 512 then 1 else 0 end, 0)
{%- endmacro %}

{#- SPEC §3: segments of 160 UTF-8 bytes, at least one; a missing text counts as empty. -#}
{% macro segment_count(text_bytes) -%}
    greatest(1, cast(ceil(coalesce({{ text_bytes }}, 0) / {{ var('segment_bytes') }}.0) as bigint))
{%- endmacro %}

{#- SPEC §4/§5: a later time is inside a 24 h window opened at `start` when it is strictly
    before start + 24 h (half-open). Interval arithmetic, never datediff (STACK-NOTES). -#}
{% macro window_end(start) -%}
    {{ start }} + interval '{{ var("session_window_hours") }}' hour
{%- endmacro %}

{#- SPEC §6: whole minutes between the first and the last event time of an event. -#}
{% macro duration_minutes(first_at, last_at) -%}
    cast(floor(({{ epoch_microseconds(last_at) }} - {{ epoch_microseconds(first_at) }}) / 60000000.0) as bigint)
{%- endmacro %}
