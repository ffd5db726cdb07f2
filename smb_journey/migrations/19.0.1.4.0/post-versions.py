"""From 19.0.1.3.0: journeys have versions of their steps. Every existing
journey gets its version 1, current, holding its steps, its enrollments
(they entered it) and the conversions credited to its emails. Set-based:
a few statements whatever the number of journeys and customers."""


def migrate(cr, version):
    cr.execute("""
        INSERT INTO smb_journey_version (journey_id, company_id, number, state, date_start,
                                         create_uid, create_date, write_uid, write_date)
        SELECT j.id, j.company_id, 1, 'current', COALESCE(j.date_start, j.create_date, NOW() AT TIME ZONE 'UTC'),
               1, NOW() AT TIME ZONE 'UTC', 1, NOW() AT TIME ZONE 'UTC'
          FROM smb_journey j
         WHERE NOT EXISTS (SELECT 1 FROM smb_journey_version v WHERE v.journey_id = j.id)
    """)
    cr.execute("""
        UPDATE smb_journey j SET version_id = v.id
          FROM smb_journey_version v
         WHERE v.journey_id = j.id AND v.state = 'current' AND j.version_id IS NULL
    """)
    cr.execute("""
        UPDATE smb_journey_step s SET version_id = j.version_id, active = TRUE
          FROM smb_journey j
         WHERE j.id = s.journey_id AND s.version_id IS NULL
    """)
    cr.execute("""
        UPDATE smb_journey_enrollment e SET version_id = j.version_id
          FROM smb_journey j
         WHERE j.id = e.journey_id AND e.version_id IS NULL
    """)
    cr.execute("""
        UPDATE smb_journey_conversion c SET version_id = s.version_id
          FROM smb_journey_step s
         WHERE s.id = c.step_id AND c.version_id IS DISTINCT FROM s.version_id
    """)
