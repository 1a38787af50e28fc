-- one row per restore still waiting or restoring; key restore_id
-- elapsed_seconds = stg_clock's now - created_at (0 when created_at is ahead of the clock).
-- expected_duration_seconds, the first that exists, from succeeded restores with a duration:
--   1. the instance's own p95, when it has at least 3 such restores;
--   2. the restore's backup size (when known and above 0) x the fleet p95 of seconds per
--      byte over such restores whose backup size is known and above 0, but never less than
--      the fleet median duration (a restore has a fixed overhead a small backup cannot
--      scale down); both p95s, so a normal restore of a new instance is as rarely overdue
--      as one judged by its own history;
--   3. the fleet p95 of all such restores;
--   otherwise null. expected_completion_at = created_at + expected, to the millisecond (null
--   when the expectation is null or longer than 100 years); is_overdue = elapsed > expected
--   (null without an expectation)
with

clock as (
    select now_at
    from stg_clock
),

restores_open as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        created_at
    from stg_restores
    where is_in_progress
),

contexts as (
    select
        restore_id,
        instance_id,
        status,
        backup_size_bytes,
        duration_seconds
    from restore_context
),

succeeded as (
    select
        instance_id,
        backup_size_bytes,
        duration_seconds
    from contexts
    where status = 'succeed' and duration_seconds is not null
),

own_history as (
    select
        instance_id,
        percentile_cont(0.95) within group (order by duration_seconds) as p95_duration_seconds
    from succeeded
    group by instance_id
    having count(*) >= 3
),

fleet as (
    select
        percentile_cont(0.95) within group (order by duration_seconds) as p95_duration_seconds,
        percentile_cont(0.5) within group (order by duration_seconds) as p50_duration_seconds,
        percentile_cont(0.95) within group (
            order by
                case
                    when backup_size_bytes > 0
                        then duration_seconds / cast(backup_size_bytes as double precision)
                end
        ) as p95_seconds_per_byte
    from succeeded
),

expected as (
    select
        restores_open.restore_id,
        restores_open.project_id,
        restores_open.instance_id,
        restores_open.status,
        restores_open.created_at,
        case
            when isfinite(restores_open.created_at)
                then greatest(
                    cast(
                        round(
                            extract(epoch from clock.now_at)
                            - extract(epoch from restores_open.created_at),
                            3
                        )
                        as double precision
                    ),
                    0
                )
        end as elapsed_seconds,
        coalesce(
            own_history.p95_duration_seconds,
            case
                -- greatest() skips nulls: without a sized history this is rule 3, not p50
                when contexts.backup_size_bytes > 0 and fleet.p95_seconds_per_byte is not null
                    then greatest(
                        fleet.p95_seconds_per_byte
                        * cast(contexts.backup_size_bytes as double precision),
                        fleet.p50_duration_seconds
                    )
            end,
            fleet.p95_duration_seconds
        ) as expected_duration_seconds
    from restores_open
    cross join clock
    cross join fleet
    left join contexts
        on restores_open.restore_id = contexts.restore_id
    left join own_history
        on restores_open.instance_id = own_history.instance_id
),

final as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        created_at,
        elapsed_seconds,
        expected_duration_seconds,
        case
            when isfinite(created_at) and expected_duration_seconds <= 3155760000
                then created_at
                -- whole milliseconds: an exact product, so both databases give the same time
                + floor(expected_duration_seconds * 1000 + 0.5) * interval '1 millisecond'
        end as expected_completion_at,
        elapsed_seconds > expected_duration_seconds as is_overdue
    from expected
)

select * from final
