-- one row per restore, with the backup it restored; key restore_id
-- backup columns are null when the backup is not (or no longer) in backups; duration_seconds is
-- stg_restores' (finished restores only); restore_point_age_seconds = restore created_at -
-- backup created_at, null when negative; throughput only for succeeded restores with a size
-- and a duration above 0
with

restores_all as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        backup_id,
        created_at,
        duration_seconds
    from stg_restores
),

backups_all as (
    select
        backup_id,
        backup_type,
        size_bytes,
        created_at
    from stg_backups
),

joined as (
    select
        restores_all.restore_id,
        restores_all.project_id,
        restores_all.instance_id,
        restores_all.status,
        restores_all.backup_id,
        backups_all.backup_type,
        backups_all.size_bytes as backup_size_bytes,
        backups_all.created_at as backup_created_at,
        case
            when
                restores_all.created_at >= backups_all.created_at
                and isfinite(restores_all.created_at)
                and isfinite(backups_all.created_at)
                then cast(
                    round(
                        extract(epoch from restores_all.created_at)
                        - extract(epoch from backups_all.created_at),
                        3
                    )
                    as double precision
                )
        end as restore_point_age_seconds,
        restores_all.duration_seconds
    from restores_all
    left join backups_all
        on restores_all.backup_id = backups_all.backup_id
),

final as (
    select
        restore_id,
        project_id,
        instance_id,
        status,
        backup_id,
        backup_type,
        backup_size_bytes,
        backup_created_at,
        restore_point_age_seconds,
        duration_seconds,
        case
            when status = 'succeed' and duration_seconds > 0
                then cast(backup_size_bytes as double precision) / duration_seconds
        end as throughput_bytes_per_second
    from joined
)

select * from final
