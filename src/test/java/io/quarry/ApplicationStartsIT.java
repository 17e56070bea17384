package io.quarry;

import static org.assertj.core.api.Assertions.assertThat;

import io.quarry.support.QuarryIntegrationTest;
import io.quarry.support.Services;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.core.env.Environment;

@QuarryIntegrationTest
class ApplicationStartsIT {

  @Autowired CamelContext camel;
  @Autowired Environment environment;

  @Value("${quarry.database.schema}")
  String schema;

  @Test
  void startsCamelAgainstTheRealServices() {
    assertThat(camel.getName()).isEqualTo("quarry");
    assertThat(camel.getStatus()).isEqualTo(ServiceStatus.Started);
  }

  @Test
  void migratesItsOwnSchemaWithEveryTableTheNextFeaturesNeed() throws Exception {
    List<String> tables = new ArrayList<>();
    try (Connection c = Services.from(environment).jdbc();
        ResultSet rs = c.getMetaData().getTables(null, schema, "%", new String[] {"TABLE"})) {
      while (rs.next()) {
        tables.add(rs.getString("TABLE_NAME"));
      }
    }
    assertThat(tables)
        .contains(
            "app_user",
            "mining_state",
            "scheduler_run",
            "qrtz_job_details",
            "qrtz_triggers",
            "qrtz_cron_triggers",
            "qrtz_fired_triggers",
            "qrtz_locks",
            "qrtz_scheduler_state",
            "job_execution",
            "outbox_event",
            "dead_letter",
            "flyway_schema_history");
  }
}
