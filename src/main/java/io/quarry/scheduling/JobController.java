package io.quarry.scheduling;

import java.security.Principal;
import java.util.List;
import org.springframework.http.HttpStatus;
import org.springframework.http.ProblemDetail;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.ResponseStatus;
import org.springframework.web.bind.annotation.RestController;

/**
 * The jobs API: {@code GET /api/jobs} for anyone logged in; trigger, pause and resume for the admin
 * role (SecurityConfig), with a CSRF token.
 */
@RestController
@RequestMapping("/api/jobs")
public class JobController {

  private final JobService jobs;

  public JobController(JobService jobs) {
    this.jobs = jobs;
  }

  @GetMapping
  public List<JobService.JobView> list() {
    return jobs.list();
  }

  @GetMapping("/{name}")
  public JobService.JobView get(@PathVariable String name) {
    return jobs.get(name);
  }

  @PostMapping("/{name}/trigger")
  @ResponseStatus(HttpStatus.ACCEPTED)
  public JobService.JobView trigger(@PathVariable String name, Principal user) {
    jobs.trigger(name, user.getName());
    return jobs.get(name);
  }

  @PostMapping("/{name}/pause")
  public JobService.JobView pause(@PathVariable String name, Principal user) {
    jobs.pause(name, user.getName());
    return jobs.get(name);
  }

  @PostMapping("/{name}/resume")
  public JobService.JobView resume(@PathVariable String name, Principal user) {
    jobs.resume(name, user.getName());
    return jobs.get(name);
  }

  @ExceptionHandler(JobService.UnknownJobException.class)
  ProblemDetail unknown(JobService.UnknownJobException e) {
    return ProblemDetail.forStatusAndDetail(HttpStatus.NOT_FOUND, e.getMessage());
  }
}
