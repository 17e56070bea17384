package io.quarry.support;

import java.util.Map;
import java.util.UUID;
import org.springframework.beans.factory.DisposableBean;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Gives a test context its own {@code quarry.environment} (queue suffix) and database schema, and
 * removes both after every other bean is gone, with connections of its own, so that nothing a test
 * left behind can make a later run pass or fail.
 */
public class IsolatedEnvironment
    implements ApplicationContextInitializer<ConfigurableApplicationContext> {

  /** A fresh name usable as both queue suffix and schema: {@code it} and 10 hex digits. */
  public static String newName() {
    return "it" + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
  }

  @Override
  public void initialize(ConfigurableApplicationContext context) {
    ConfigurableEnvironment environment = context.getEnvironment();
    String name = environment.getProperty("quarry.environment", "");
    if (!name.startsWith("it")) {
      name = newName();
    }
    environment
        .getPropertySources()
        .addFirst(
            new MapPropertySource(
                "isolated-environment",
                Map.of("quarry.environment", name, "quarry.database.schema", name)));
    // Registered first, so destroyed last: after Camel, the listeners and the pools are closed.
    DisposableBean cleanup = () -> Services.from(environment).dropEnvironment(environment);
    ((DefaultListableBeanFactory) context.getBeanFactory())
        .registerDisposableBean("isolatedEnvironmentCleanup", cleanup);
  }
}
