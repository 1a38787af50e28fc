-- one row per restore; key restore_id
-- the shared definitions (finished, failed, UTC day, duration) live here so every mart agrees
with

source as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        error_code,
        created_at,
        updated_at,
        backup_id
    from restores
),

classified as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        -- the API sends an empty object or string instead of null when there is no code
        nullif(error_code, '') as error_code,
        created_at,
        updated_at,
        cast((created_at at time zone 'UTC') as date) as created_day,
        -- weeks start on Monday (ISO) in both DuckDB and PostgreSQL
        cast(date_trunc('week', (created_at at time zone 'UTC')) as date) as created_week,
        status in ('waiting', 'restoring') as is_in_progress,
        -- unknown statuses are neither in progress nor finished
        status in ('succeed', 'failed') as is_finished,
        status = 'failed' as is_failed,
        nullif(backup_id, '') as backup_id
    from source
),

final as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        error_code,
        created_at,
        updated_at,
        created_day,
        created_week,
        coalesce(is_in_progress, false) as is_in_progress,
        coalesce(is_finished, false) as is_finished,
        coalesce(is_failed, false) as is_failed,
        -- updated_at is the completion time only once a restore has finished; a duration
        -- is never negative or infinite (the loader already sets such an updated_at aside).
        -- Differences of epochs are rounded to the millisecond, the API's precision, in every
        -- view: DuckDB's epoch is a double whose last digits differ from PostgreSQL's numeric
        case
            when
                is_finished
                and updated_at >= created_at
                and isfinite(created_at)
                and isfinite(updated_at)
                then cast(
                    round(extract(epoch from updated_at) - extract(epoch from created_at), 3)
                    as double precision
                )
        end as duration_seconds,
        backup_id
    from classified
)

select * from final
