-- one row per documented restore error code; key error_code
-- meanings are copied from the ListRestoreRecords API reference (InstanceRestoreInfo.error_code)
with

documented as (
    select
        error_code,
        meaning
    from (
        values
            ('dcs.08.0001', 'Failed to start the backup and restoration tool.'),
            ('dcs.08.0002', 'Execution timed out.'),
            ('dcs.08.0003', 'Failed to delete the bucket.'),
            ('dcs.08.0004', 'Failed to obtain the AK/SK.'),
            ('dcs.08.0005', 'Failed to create a bucket.'),
            ('dcs.08.0006', 'Failed to query the backup data size.'),
            ('dcs.08.0007', 'Failed to synchronize data during restoration.'),
            ('dcs.08.0008', 'The scheduled backup task is not running. The instance is running other tasks.')
    ) as codes (error_code, meaning)
),

final as (
    select
        error_code,
        meaning
    from documented
)

select * from final
