package load

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// BuildBot builds the rsvpbot binary into dir and returns its path. It
// runs the go command from the current directory, which must be inside the
// rsvpbot module (pass a -bot path otherwise).
func BuildBot(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "rsvpbot")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/rsvpbot/rsvpbot/cmd/rsvpbot")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building the bot (run inside the rsvpbot module, or pass -bot): %v\n%s", err, out)
	}
	return bin, nil
}

// botProc runs the real bot binary, and restarts and kills it on demand.
// Its log (all runs, one after the other) is kept in one file so that a
// failed run can be read in order.
type botProc struct {
	bin     string
	env     []string
	logPath string

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the current process has been waited for
	expectExit bool          // we killed or stopped it
	starts     int
	kills      int
	crashes    []string // exits nobody asked for
}

func newBotProc(bin, logPath string, env []string) *botProc {
	return &botProc{bin: bin, env: env, logPath: logPath}
}

// start launches the bot; it does not wait for it to be ready.
func (p *botProc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return errors.New("bot already running")
	}
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	p.starts++
	fmt.Fprintf(logf, "=== rsvpload: start #%d at %s\n", p.starts, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("starting %s: %w", p.bin, err)
	}
	exited := make(chan struct{})
	p.cmd, p.exited, p.expectExit = cmd, exited, false
	go func() {
		err := cmd.Wait()
		logf.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.expectExit {
			p.crashes = append(p.crashes, fmt.Sprintf("start #%d exited on its own: %v", p.starts, err))
		}
		if p.cmd == cmd {
			p.cmd = nil
		}
		close(exited)
	}()
	return nil
}

// running reports whether the bot process is alive.
func (p *botProc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil
}

// kill sends SIGKILL, as a power cut or the OOM killer would, and waits
// for the process to be gone.
func (p *botProc) kill() {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return
	}
	p.expectExit = true
	p.kills++
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop sends SIGTERM and waits up to timeout for a graceful exit (then
// kills); it returns the exit code, -1 if it had to kill.
func (p *botProc) stop(timeout time.Duration) int {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	if cmd == nil {
		p.mu.Unlock()
		return 0
	}
	p.expectExit = true
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return -1
	}
}

func (p *botProc) stats() (starts, kills int, crashes []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.kills, append([]string(nil), p.crashes...)
}
