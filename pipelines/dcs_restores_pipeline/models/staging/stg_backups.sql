-- one row per backup (loaded by merge on backup_id); key backup_id
-- a database without table backups (loaded before backups existed, or with them turned off)
-- reads an empty relation of the same columns instead: views.py picks it at build time
with

source as (
    select
        backup_id,
        project_id,
        instance_id,
        backup_name,
        backup_type,
        backup_format,
        status,
        size,
        is_support_restore,
        error_code,
        created_at,
        updated_at,
        execution_at
    from backups
),

final as (
    select
        backup_id,
        project_id,
        instance_id,
        backup_name,
        backup_type,
        backup_format,
        status,
        -- bytes; a negative size is no size
        case when size >= 0 then size end as size_bytes,
        is_support_restore,
        nullif(error_code, '') as error_code,
        created_at,
        updated_at,
        execution_at,
        -- what the RPO is measured against: a finished backup the API says can be restored
        coalesce(status = 'succeed' and is_support_restore, false) as is_restorable
    from source
)

select * from final
