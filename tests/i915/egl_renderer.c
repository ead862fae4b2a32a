/*
 * Prints the GL vendor and renderer Mesa reports for one DRM render node
 * (argv[1]), found among the EGL devices by its node path, through an
 * OpenGL ES context on that device's display (the context is created and
 * made current; nothing is drawn, so no command buffer is submitted).
 * Exits 0 when the context came up.
 */
#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GLES2/gl2.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s /dev/dri/renderDN\n", argv[0]);
		return 2;
	}
	PFNEGLQUERYDEVICESEXTPROC query_devices = (PFNEGLQUERYDEVICESEXTPROC)eglGetProcAddress("eglQueryDevicesEXT");
	PFNEGLQUERYDEVICESTRINGEXTPROC device_string =
		(PFNEGLQUERYDEVICESTRINGEXTPROC)eglGetProcAddress("eglQueryDeviceStringEXT");
	PFNEGLGETPLATFORMDISPLAYEXTPROC platform_display =
		(PFNEGLGETPLATFORMDISPLAYEXTPROC)eglGetProcAddress("eglGetPlatformDisplayEXT");
	if (!query_devices || !device_string || !platform_display) {
		fprintf(stderr, "no EGL device enumeration\n");
		return 1;
	}
	EGLDeviceEXT devs[16];
	EGLint n = 0;
	if (!query_devices(16, devs, &n))
		return 1;
	for (EGLint i = 0; i < n; i++) {
		const char *node = device_string(devs[i], EGL_DRM_RENDER_NODE_FILE_EXT);
		if (!node || strcmp(node, argv[1]) != 0)
			continue;
		EGLDisplay dpy = platform_display(EGL_PLATFORM_DEVICE_EXT, devs[i], NULL);
		EGLint major, minor;
		if (dpy == EGL_NO_DISPLAY || !eglInitialize(dpy, &major, &minor) || !eglBindAPI(EGL_OPENGL_ES_API)) {
			fprintf(stderr, "%s: EGL initialisation failed (0x%x)\n", node, eglGetError());
			return 1;
		}
		const EGLint attrs[] = {EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE};
		EGLContext ctx = eglCreateContext(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attrs);
		if (ctx == EGL_NO_CONTEXT || !eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
			fprintf(stderr, "%s: no GLES context (0x%x)\n", node, eglGetError());
			return 1;
		}
		printf("EGL driver on %s\nGL_VENDOR: %s\nGL_RENDERER: %s\n", node, (const char *)glGetString(GL_VENDOR),
		       (const char *)glGetString(GL_RENDERER));
		fflush(stdout);
		eglMakeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
		eglDestroyContext(dpy, ctx);
		eglTerminate(dpy);
		return 0;
	}
	fprintf(stderr, "%s is not an EGL device\n", argv[1]);
	return 1;
}
