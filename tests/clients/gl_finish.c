/*
 * gl_finish: the smallest real GLES client of a render node. It makes an
 * EGL display on the node named by its argument (through GBM, or through the
 * EGL device whose render node it is), a GLES 2 context without surfaces, a
 * framebuffer object, then glClear, glFinish and glReadPixels of one pixel.
 *
 * Shaders do not run on the simulated GPUs, so the pixel's value means
 * nothing; what is checked is that every call returned without a GL or EGL
 * error, i.e. the work reached the GPU and came back (glFinish waits for the
 * submission's fence).
 *
 * Usage: gl_finish gbm|device /dev/dri/renderDN
 * Prints GL_RENDERER on success; exit 0 on success, 1 on failure.
 */
#define EGL_EGLEXT_PROTOTYPES 1
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what)
{
	fprintf(stderr, "gl_finish: FAILED: %s (EGL error 0x%x)\n", what, eglGetError());
	return 1;
}

static int gl_fail(const char *what, GLenum err)
{
	fprintf(stderr, "gl_finish: FAILED: %s (GL error 0x%x)\n", what, err);
	return 1;
}

/*
 * libgbm, found at run time: only two entry points are needed, and the
 * headers are not always installed where the library is.
 */
struct gbm {
	void *lib;
	void *dev;
	void (*destroy)(void *dev);
};

static EGLDisplay gbm_display(const char *node, struct gbm *g, int *fd)
{
	*fd = open(node, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		perror(node);
		return EGL_NO_DISPLAY;
	}
	g->lib = dlopen("libgbm.so.1", RTLD_NOW | RTLD_LOCAL);
	if (!g->lib) {
		fprintf(stderr, "gl_finish: %s\n", dlerror());
		return EGL_NO_DISPLAY;
	}
	void *(*create)(int) = (void *(*)(int))dlsym(g->lib, "gbm_create_device");
	g->destroy = (void (*)(void *))dlsym(g->lib, "gbm_device_destroy");
	if (!create || !g->destroy)
		return EGL_NO_DISPLAY;
	g->dev = create(*fd);
	if (!g->dev)
		return EGL_NO_DISPLAY;
	return eglGetPlatformDisplay(EGL_PLATFORM_GBM_KHR, g->dev, NULL);
}

/* The EGL device (EGL_EXT_device_enumeration) whose render node is node. */
static EGLDisplay device_display(const char *node)
{
	PFNEGLQUERYDEVICESEXTPROC query_devices = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	PFNEGLQUERYDEVICESTRINGEXTPROC query_string =
		(PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
	if (!query_devices || !query_string)
		return EGL_NO_DISPLAY;
	EGLDeviceEXT devs[16];
	EGLint n = 0;
	if (!query_devices(16, devs, &n))
		return EGL_NO_DISPLAY;
	for (EGLint i = 0; i < n; i++) {
		const char *file = query_string(devs[i], EGL_DRM_RENDER_NODE_FILE_EXT);
		if (file && !strcmp(file, node))
			return eglGetPlatformDisplay(EGL_PLATFORM_DEVICE_EXT, devs[i], NULL);
	}
	fprintf(stderr, "gl_finish: no EGL device has render node %s\n", node);
	return EGL_NO_DISPLAY;
}

static int run(EGLDisplay dpy)
{
	EGLint major, minor;
	if (!eglInitialize(dpy, &major, &minor))
		return fail("eglInitialize");
	const char *exts = eglQueryString(dpy, EGL_EXTENSIONS);
	if (!exts || !strstr(exts, "EGL_KHR_surfaceless_context"))
		return fail("no EGL_KHR_surfaceless_context");
	if (!eglBindAPI(EGL_OPENGL_ES_API))
		return fail("eglBindAPI");
	static const EGLint ctx_attribs[] = {EGL_CONTEXT_MAJOR_VERSION, 2, EGL_NONE};
	/* No config: the context only ever draws into a framebuffer object (EGL_KHR_no_config_context). */
	EGLContext ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, ctx_attribs);
	if (ctx == EGL_NO_CONTEXT)
		return fail("eglCreateContext");
	if (!eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
		return fail("eglMakeCurrent");

	const char *renderer = (const char *)glGetString(GL_RENDERER);
	if (!renderer)
		return gl_fail("glGetString(GL_RENDERER)", glGetError());

	GLuint fbo, rb;
	glGenFramebuffers(1, &fbo);
	glBindFramebuffer(GL_FRAMEBUFFER, fbo);
	glGenRenderbuffers(1, &rb);
	glBindRenderbuffer(GL_RENDERBUFFER, rb);
	glRenderbufferStorage(GL_RENDERBUFFER, GL_RGBA4, 64, 64);
	glFramebufferRenderbuffer(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_RENDERBUFFER, rb);
	GLenum status = glCheckFramebufferStatus(GL_FRAMEBUFFER);
	if (status != GL_FRAMEBUFFER_COMPLETE)
		return gl_fail("framebuffer incomplete", status);
	GLenum err = glGetError();
	if (err != GL_NO_ERROR)
		return gl_fail("framebuffer setup", err);

	glViewport(0, 0, 64, 64);
	glClearColor(0.25f, 0.5f, 0.75f, 1.0f);
	glClear(GL_COLOR_BUFFER_BIT);
	if ((err = glGetError()) != GL_NO_ERROR)
		return gl_fail("glClear", err);
	glFinish();
	if ((err = glGetError()) != GL_NO_ERROR)
		return gl_fail("glFinish", err);
	GLubyte px[4] = {0};
	glReadPixels(32, 32, 1, 1, GL_RGBA, GL_UNSIGNED_BYTE, px);
	if ((err = glGetError()) != GL_NO_ERROR)
		return gl_fail("glReadPixels", err);

	glDeleteRenderbuffers(1, &rb);
	glDeleteFramebuffers(1, &fbo);
	eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(dpy, ctx);
	printf("GL_RENDERER: %s\n", renderer);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3 || (strcmp(argv[1], "gbm") && strcmp(argv[1], "device"))) {
		fprintf(stderr, "usage: %s gbm|device /dev/dri/renderDN\n", argv[0]);
		return 2;
	}
	struct gbm g = {0};
	int fd = -1;
	EGLDisplay dpy = !strcmp(argv[1], "gbm") ? gbm_display(argv[2], &g, &fd) : device_display(argv[2]);
	int r = dpy == EGL_NO_DISPLAY ? fail("no EGL display") : run(dpy);
	if (dpy != EGL_NO_DISPLAY)
		eglTerminate(dpy);
	if (g.dev)
		g.destroy(g.dev);
	if (g.lib)
		dlclose(g.lib);
	if (fd >= 0)
		close(fd);
	return r;
}
